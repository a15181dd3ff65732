// The layering of DESIGN.md, enforced: a module imports only from its own layer or below
// (inside layer 1, only the modules listed before it), never upward — not even `import type` —
// the import graph of src/ has no cycle (`import type` and `export type` included: a circle of
// types is still two modules that cannot be read, tested or moved apart), and a concept's folder
// is entered only through its `index.ts` (files of `internal/` one by one: it has no face).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

/** Rank of the text modules (escape, options, locale, template): see allowedEdge. */
const TEXT = 150;

/**
 * The rule table. Rank = layer * 100 + position inside layer 1; a module may import one of
 * equal or lower rank (inside layer 1, only lower, save errors and log, which share the first
 * place, and the files of one folder).
 * A key ending in `/` is a folder: every file in it has that rank. Adding a concept is one line.
 */
const RANKS: Record<string, number> = {
  'internal/': 0,
  'errors.ts': 100,
  'log.ts': 100,
  'concurrent.ts': 101,
  'executor/': 102,
  'ioloop.ts': 103,
  'gen.ts': 104,
  'locks.ts': 105,
  'queues.ts': 106,
  // Layer 1 text: pure modules that import only errors, log and each other.
  'escape.ts': TEXT,
  'options/': TEXT,
  'locale/': TEXT,
  'template/': TEXT,
  'netutil.ts': 200,
  'iostream/': 200,
  'tcpserver.ts': 200,
  'tcpclient.ts': 200,
  'process/': 200,
  'httputil/': 300,
  'httpserver/': 300,
  'httpclient/': 300,
  'broker/': 300,
  'web/': 400,
  'websocket/': 400,
  'testing.ts': 500,
  'index.ts': 600,
};

/** The rule-table key a file of src/ falls under: its folder (`web/`) or its file name. */
function keyOf(file: string): string | undefined {
  const rel = relative(src, file).replaceAll('\\', '/');
  const slash = rel.indexOf('/');
  const key = slash === -1 ? rel : rel.slice(0, slash + 1);
  return key in RANKS ? key : undefined;
}

/** Rank of a module (see RANKS); undefined for a file the table does not place. */
function rankOf(file: string): number | undefined {
  const key = keyOf(file);
  return key === undefined ? undefined : RANKS[key];
}

/** Whether a module of rank `from` may import one of rank `to`. */
function allowedEdge(from: number, to: number): boolean {
  if (to === 600) return false; // src/index.ts is the public surface, imported by nothing in src
  if (from === 0) return to === 0; // internal helpers never reach into typhoon's layers
  if (from === TEXT) return to === TEXT || to === 100 || to === 0;
  if (to === TEXT) return from >= 200; // the concurrency core never needs the text modules
  const fromLayer = Math.floor(from / 100);
  const toLayer = Math.floor(to / 100);
  if (toLayer !== fromLayer) return toLayer < fromLayer;
  // Inside layer 1 only modules listed before; an equal rank is errors and log (which share the
  // first place) or two files of one folder (executor/).
  if (fromLayer === 1) return to <= from;
  return true;
}

/**
 * Whether `file` may name `target` directly: inside its own folder anything; another folder
 * only through that folder's `index.ts`; `internal/` file by file.
 */
function allowedPath(file: string, target: string): boolean {
  const targetKey = keyOf(target);
  if (targetKey === undefined || !targetKey.endsWith('/') || targetKey === 'internal/') return true;
  if (keyOf(file) === targetKey) return true;
  return relative(src, target).replaceAll('\\', '/') === `${targetKey}index.ts`;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return walk(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

interface Edge {
  to: string;
  typeOnly: boolean;
}

/** Relative imports and re-exports of a file, with whether each is type-only. */
function importsOf(file: string): Edge[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const edges: Edge[] = [];
  const add = (spec: ts.Expression | undefined, typeOnly: boolean) => {
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) return;
    edges.push({ to: resolve(dirname(file), spec.text), typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      let typeOnly = clause?.isTypeOnly ?? false;
      // `import { type A, type B } from` is type-only too.
      const bindings = clause?.namedBindings;
      if (!typeOnly && clause && !clause.name && bindings && ts.isNamedImports(bindings)) {
        typeOnly = bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
      }
      add(node.moduleSpecifier, typeOnly);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      // `import('./x.ts').T` in a type position.
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edges;
}

const files = walk(src);

test('every module of src/ belongs to a layer of DESIGN.md', () => {
  const unplaced = files.filter((f) => rankOf(f) === undefined).map((f) => relative(root, f));
  assert.deepEqual(unplaced, [], 'modules outside the layer map');
});

test('no module imports upward (import type included)', () => {
  const violations: string[] = [];
  for (const file of files) {
    const from = rankOf(file);
    for (const edge of importsOf(file)) {
      const to = rankOf(edge.to);
      if (from === undefined || to === undefined) continue;
      if (!allowedEdge(from, to)) {
        violations.push(`${relative(root, file)} -> ${relative(root, edge.to)}`);
      }
    }
  }
  assert.deepEqual(violations, [], 'upward imports');
});

test('another folder is entered only through its index.ts (internal/ file by file)', () => {
  const violations: string[] = [];
  for (const file of files) {
    for (const edge of importsOf(file)) {
      if (!allowedPath(file, edge.to)) {
        violations.push(`${relative(root, file)} -> ${relative(root, edge.to)}`);
      }
    }
  }
  assert.deepEqual(violations, [], "imports that bypass a folder's index.ts");
});

/**
 * The cycles of a module graph, each as the path that closes it (`a -> b -> a`), one per back
 * edge of a depth-first walk: a graph without any has none; one with cycles reports at least
 * one through each of them.
 */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[][] = [];
  const path: string[] = [];
  const visit = (node: string) => {
    const s = state.get(node);
    if (s === 'done') return;
    if (s === 'visiting') {
      cycles.push([...path.slice(path.indexOf(node)), node]);
      return;
    }
    state.set(node, 'visiting');
    path.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    path.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node);
  return cycles;
}

test('the import graph of src/ has no cycle (import type and export type included)', () => {
  const graph = new Map<string, string[]>();
  for (const file of files)
    graph.set(
      file,
      importsOf(file).map((e) => e.to),
    );
  const cycles = findCycles(graph).map((cycle) =>
    cycle.map((f) => relative(src, f).replaceAll('\\', '/')).join(' -> '),
  );
  assert.deepEqual(cycles, [], 'import cycles');
});

test('the cycle finder catches a cycle, a type-only one and a self-import', () => {
  // Guard against a finder that silently passes everything.
  const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
  assert.deepEqual(findCycles(graph({ a: ['b'], b: ['c'], c: [] })), []);
  assert.deepEqual(findCycles(graph({ a: ['b', 'c'], b: ['c'], c: [] })), []);
  assert.deepEqual(findCycles(graph({ a: ['b'], b: ['c'], c: ['a'] })), [['a', 'b', 'c', 'a']]);
  assert.deepEqual(findCycles(graph({ a: ['a'] })), [['a', 'a']]);
  assert.deepEqual(findCycles(graph({ x: ['a'], a: ['b'], b: ['a'] })), [['a', 'b', 'a']]);
  // A circle made of types only (`import type`, `export type … from`, `import('…')` in a
  // type) is still found in files as importsOf reads them.
  const dir = mkdtempSync(join(tmpdir(), 'typhoon-cycles-'));
  try {
    const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
    write('a.ts', "import type { B } from './b.ts';\nexport type A = B;\n");
    write('b.ts', "export type { C as B } from './c.ts';\n");
    write('c.ts', "export type C = import('./a.ts').A | 1;\n");
    const names = ['a.ts', 'b.ts', 'c.ts'];
    const typed = new Map(
      names.map((n) => [n, importsOf(join(dir, n)).map((e) => relative(dir, e.to))]),
    );
    assert.deepEqual(findCycles(typed), [['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the layer checker itself catches an upward import and a bypassed index.ts', () => {
  // Guard against a checker that silently passes everything.
  const rank = (p: string) => rankOf(join(src, p))!;
  assert.equal(allowedEdge(rank('concurrent.ts'), rank('web/index.ts')), false);
  assert.equal(allowedEdge(rank('ioloop.ts'), rank('gen.ts')), false);
  assert.equal(allowedEdge(rank('gen.ts'), rank('ioloop.ts')), true);
  assert.equal(allowedEdge(rank('executor/index.ts'), rank('executor/tasks.ts')), true);
  assert.equal(allowedEdge(rank('concurrent.ts'), rank('executor/index.ts')), false);
  assert.equal(allowedEdge(rank('httpserver/index.ts'), rank('web/application.ts')), false);
  assert.equal(allowedEdge(rank('internal/deque.ts'), rank('errors.ts')), false);
  assert.equal(allowedEdge(rank('web/application.ts'), rank('index.ts')), false);
  assert.equal(allowedEdge(rank('iostream/index.ts'), rank('tcpclient.ts')), true);
  assert.equal(allowedEdge(rank('template/index.ts'), rank('concurrent.ts')), false);
  assert.equal(allowedEdge(rank('template/index.ts'), rank('escape.ts')), true);
  assert.equal(allowedEdge(rank('process/index.ts'), rank('broker/index.ts')), false);
  assert.equal(allowedEdge(rank('web/index.ts'), rank('locale/index.ts')), true);
  const at = (p: string) => join(src, p);
  assert.equal(allowedPath(at('web/application.ts'), at('httpserver/connection.ts')), false);
  assert.equal(allowedPath(at('web/application.ts'), at('httpserver/index.ts')), true);
  assert.equal(allowedPath(at('httpserver/index.ts'), at('httpserver/connection.ts')), true);
  assert.equal(allowedPath(at('web/cookies.ts'), at('internal/cookie.ts')), true);
  assert.equal(allowedPath(at('index.ts'), at('websocket/client.ts')), false);
});
