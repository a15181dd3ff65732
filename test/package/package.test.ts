// typhoon as a user gets it: `npm pack` (which builds dist/), the tarball installed into a
// scratch project made with the README's own commands, the README's first application served
// and fetched, every subpath export imported, the project type-checked (strict, nodenext, no
// skipLibCheck, no `types`) and built, and, where an older Node exists, the one-sentence
// refusal. Runs on whatever Node runs the suite: Node 24 under `npm test`, Node 22 in CI's
// second pass. The README's blocks are read from README.md, so the two cannot drift.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');

// Children run on this Node (npm included) and know nothing of the test runner.
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: dirname(process.execPath) + delimiter + (process.env.PATH ?? ''),
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};
delete env.NODE_TEST_CONTEXT;
delete env.NODE_OPTIONS;

interface Run {
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string, timeout = 180_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stdout}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

function sh(command: string, cwd: string): Promise<Run> {
  return run('sh', ['-c', command], cwd);
}

/** The fenced blocks of README.md's "A first application" section, in order. */
function readmeBlocks(): Array<{ lang: string; text: string }> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## A first application\n');
  assert.ok(start >= 0, 'README.md has no "## A first application" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    lang: m[1]!,
    text: m[2]!,
  }));
}

/** Commands of a shell block: one per line, without the trailing `# comments`. */
function commands(block: string): string[] {
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Start `args` on this Node with PORT set; resolve once it prints its "listening" line. */
async function serve(args: string[], cwd: string): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening" line in 30 s:\n${output}`)),
      30_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`listening on http://127.0.0.1:${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}:\n${output}`));
    });
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The README's application answers as the README says. */
async function checkHello(args: string[], cwd: string): Promise<void> {
  const { child, base } = await serve(args, cwd);
  try {
    const hello = await fetch(`${base}/`);
    assert.equal(hello.status, 200);
    assert.deepEqual(await hello.json(), { hello: 'world' });
    const greet = await fetch(`${base}/greet/ada`);
    assert.equal(await greet.text(), 'Hello, ada!\n');
  } finally {
    await stop(child);
  }
}

/** An installed Node older than 22.19 (the system's, typically), or null. */
async function oldNode(): Promise<{ path: string; version: string } | null> {
  const candidates = new Set(['/usr/bin/node', '/usr/local/bin/node']);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && !dir.includes('node_modules')) candidates.add(join(dir, 'node'));
  }
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    try {
      const version = (await run(path, ['--version'], root, 10_000)).stdout.trim();
      const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
      if (major < 22 || (major === 22 && minor < 19)) return { path, version };
    } catch {
      // not a runnable node: try the next
    }
  }
  return null;
}

describe('the package as a user installs it', { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'typhoon-package-'));
  const project = join(work, 'hello');
  let tarball = '';
  let packedFiles: string[] = [];
  let exportsMap: Record<string, { types: string; default: string }> = {};
  const blocks = readmeBlocks();
  const [setup, code, start, tsconfig, build] = [
    blocks.find((b) => b.lang === 'sh'),
    blocks.find((b) => b.lang === 'ts'),
    blocks.filter((b) => b.lang === 'sh')[1],
    blocks.find((b) => b.lang === 'jsonc'),
    blocks.filter((b) => b.lang === 'sh')[2],
  ];

  before(async () => {
    assert.ok(setup && code && start && tsconfig && build, 'README blocks missing');
    // `npm pack` runs `prepare`, which builds dist/ from scratch.
    const packed = await run('npm', ['pack', '--json', '--pack-destination', work], root, 300_000);
    const info = (
      JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
    )[0]!;
    tarball = join(work, info.filename);
    packedFiles = info.files.map((f) => f.path);
    // The README's commands, in a scratch folder; the install names the tarball just made.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(project);
    for (const command of commands(setup.text)) {
      if (command.startsWith('mkdir ')) continue; // the scratch folder stands for it
      if (command.startsWith('npm install ')) {
        await run(
          'npm',
          ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball],
          project,
          300_000,
        );
      } else {
        await sh(command, project);
      }
    }
    exportsMap = (
      JSON.parse(readFileSync(join(project, 'node_modules/typhoon/package.json'), 'utf8')) as {
        exports: typeof exportsMap;
      }
    ).exports;
    writeFileSync(join(project, 'hello.ts'), code.text);
    writeFileSync(join(project, 'tsconfig.json'), tsconfig.text);
  });

  after(() => {
    rmSync(work, { recursive: true, force: true });
  });

  test('the README makes an ES module project with npm init -y', () => {
    const cmds = commands(setup!.text);
    assert.ok(cmds.includes('npm init -y'), 'README setup lacks npm init -y');
    assert.ok(cmds.includes('npm pkg set type=module'), 'README setup lacks the module type');
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as {
      type?: string;
    };
    assert.equal(pkg.type, 'module');
  });

  test('the tarball ships dist/ with declarations and no tests', () => {
    for (const file of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/index.js',
      'dist/index.d.ts',
    ]) {
      assert.ok(packedFiles.includes(file), `tarball lacks ${file}`);
    }
    assert.deepEqual(
      packedFiles.filter(
        (f) => /^(test|bench|demo|examples)\//.test(f) || /\.test\.[jt]s$/.test(f),
      ),
      [],
      'tests, benchmarks or demos in the tarball',
    );
    for (const [subpath, target] of Object.entries(exportsMap)) {
      for (const file of [target.types, target.default]) {
        assert.ok(packedFiles.includes(file.slice(2)), `${subpath}: ${file} not in the tarball`);
      }
    }
    // Relative imports of the built JavaScript name .js files (rewriteRelativeImportExtensions).
    const index = readFileSync(join(project, 'node_modules/typhoon/dist/index.js'), 'utf8');
    assert.match(index, /from ["']\.\/web\/index\.js["']/);
    assert.doesNotMatch(index, /from ["']\.[^"']*\.ts["']/);
  });

  test('the declarations need only what a user gets', () => {
    const pkg = JSON.parse(
      readFileSync(join(project, 'node_modules/typhoon/package.json'), 'utf8'),
    ) as {
      dependencies: Record<string, string>;
    };
    const strays: string[] = [];
    for (const file of packedFiles.filter((f) => f.endsWith('.d.ts'))) {
      const text = readFileSync(join(project, 'node_modules/typhoon', file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '') // doc comments quote imports in their examples
        .replace(/^\s*\/\/(?!\/).*$/gm, '');
      for (const m of text.matchAll(/(?:from |import\()['"]([^'".][^'"]*)['"]/g)) {
        const name = m[1]!.startsWith('@')
          ? m[1]!.split('/').slice(0, 2).join('/')
          : m[1]!.split('/')[0]!;
        if (!name.startsWith('node:') && !(name in pkg.dependencies))
          strays.push(`${file}: ${m[1]}`);
      }
    }
    assert.deepEqual(strays, [], 'declarations import packages that are not dependencies');
    assert.ok('@types/node' in pkg.dependencies, '@types/node must come with typhoon');
    for (const [subpath, target] of Object.entries(exportsMap)) {
      const text = readFileSync(join(project, 'node_modules/typhoon', target.types), 'utf8');
      assert.ok(
        text.startsWith('/// <reference types="node"'),
        `${subpath}: ${target.types} does not reference Node's types`,
      );
    }
  });

  test("the README's first application serves what it says", async () => {
    const cmds = commands(start!.text);
    assert.equal(cmds[0], 'node hello.ts');
    await checkHello(['hello.ts'], project);
  });

  test('every subpath export imports', async () => {
    const specifiers = Object.keys(exportsMap).map((s) =>
      s === '.' ? 'typhoon' : `typhoon${s.slice(1)}`,
    );
    const script =
      `const out = {};\n` +
      `for (const s of ${JSON.stringify(specifiers)}) out[s] = Object.keys(await import(s)).length;\n` +
      `console.log(JSON.stringify(out));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], project);
    const counts = JSON.parse(stdout) as Record<string, number>;
    assert.deepEqual(Object.keys(counts), specifiers);
    for (const [s, n] of Object.entries(counts)) assert.ok(n > 0, `${s} exports nothing`);
  });

  test('it type-checks strictly and builds with the README tsconfig', async () => {
    const config = tsconfig!.text;
    assert.match(config, /"strict": true/);
    assert.match(config, /"module": "nodenext"/);
    assert.doesNotMatch(config, /skipLibCheck|"types"/);
    // Every subpath's declarations in the program, not only those hello.ts reaches.
    writeFileSync(
      join(project, 'subpaths.ts'),
      Object.keys(exportsMap)
        .map(
          (s, i) =>
            `import * as m${i} from 'typhoon${s === '.' ? '' : s.slice(1)}';\nvoid m${i};\n`,
        )
        .join(''),
    );
    const cmds = commands(build!.text);
    assert.deepEqual(cmds.slice(1), ['npx tsc --noEmit', 'npx tsc && node dist/hello.js']);
    // The repository's own TypeScript stands in for `npm install --save-dev typescript`.
    try {
      await run(process.execPath, [tsc, '-p', '.'], project);
    } catch (error) {
      assert.fail(String(error));
    }
    await checkHello(['dist/hello.js'], project);
  });

  test('a git install builds dist/ through prepare and imports', async (t) => {
    if (!existsSync(join(root, '.git'))) {
      t.skip('not a git checkout: nothing to install from git');
      return;
    }
    // What `npm install git+https://…` does, from this checkout's committed HEAD: npm clones it,
    // installs its dev dependencies and runs `prepare` (the build) before packing it.
    const fromGit = join(work, 'from-git');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(fromGit);
    await sh('npm init -y >/dev/null && npm pkg set type=module', fromGit);
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', `git+file://${root}`],
      fromGit,
      600_000,
    );
    assert.ok(existsSync(join(fromGit, 'node_modules/typhoon/dist/index.d.ts')), 'no dist/');
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const t = await import('typhoon'); console.log(typeof t.Application);",
      ],
      fromGit,
    );
    assert.equal(stdout.trim(), 'function');
  });

  test('an unsupported Node says so in one sentence', async (t) => {
    const old = await oldNode();
    if (old === null) {
      t.skip('no Node.js older than 22.19 installed to try');
      return;
    }
    // Every entry point: each must check the version before anything that Node 20 cannot link.
    const specifiers = Object.keys(exportsMap).map((k) => k.replace(/^\./, 'typhoon'));
    assert.ok(specifiers.length > 20, `only ${specifiers.length} subpath exports`);
    for (const specifier of specifiers) {
      const result = await run(
        old.path,
        ['--input-type=module', '-e', `import ${JSON.stringify(specifier)};`],
        project,
      ).then(
        () => assert.fail(`import ${specifier} succeeded on ${old.version}`),
        (error: Error) => error.message,
      );
      assert.match(
        result,
        new RegExp(
          `Error: typhoon needs Node\\.js ≥ 22\\.19; this is ${old.version.replace(/\./g, '\\.')}\\n`,
        ),
      );
      assert.doesNotMatch(result, /SyntaxError/);
    }
  });
});
