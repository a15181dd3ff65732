// The layering of DESIGN.md, enforced: a module imports only from its own layer or below
// (inside layer 1, only the modules listed before it), never upward — not even `import type` —
// and the runtime import graph of src/ has no cycle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'src');

/** Rank of a module: its layer * 100 + its position inside layer 1. Lower may not import higher. */
function rankOf(file: string): number | undefined {
  const rel = relative(src, file).replaceAll('\\', '/');
  if (rel.startsWith('internal/')) return 0;
  const layer1: Record<string, number> = {
    'errors.ts': 100,
    'log.ts': 100,
    'concurrent.ts': 101,
    'executor.ts': 102,
    'ioloop.ts': 103,
    'gen.ts': 104,
    'locks.ts': 105,
    'queues.ts': 106,
  };
  if (rel in layer1) return layer1[rel];
  if (/^(netutil|iostream|tcpserver|tcpclient)(-[\w-]+)?\.ts$/.test(rel)) return 200;
  if (/^(httputil|httpserver|httpclient)(-[\w-]+)?\.ts$/.test(rel)) return 300;
  if (rel.startsWith('web/') || /^websocket(-[\w-]+)?\.ts$/.test(rel)) return 400;
  if (rel === 'testing.ts') return 500;
  if (rel === 'index.ts') return 600;
  return undefined;
}

/** Whether a module of rank `from` may import one of rank `to`. */
function allowedEdge(from: number, to: number): boolean {
  if (to === 600) return false; // src/index.ts is the public surface, imported by nothing in src
  if (from === 0) return to === 0; // internal helpers never reach into typhoon's layers
  const fromLayer = Math.floor(from / 100);
  const toLayer = Math.floor(to / 100);
  if (toLayer !== fromLayer) return toLayer < fromLayer;
  // Inside layer 1 only modules listed before (errors and log share the first place).
  if (fromLayer === 1) return to < from || (from === 100 && to === 100);
  return true;
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

test('the runtime import graph of src/ has no cycle', () => {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    graph.set(
      file,
      importsOf(file)
        .filter((e) => !e.typeOnly)
        .map((e) => e.to),
    );
  }
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (node: string, path: string[]) => {
    const s = state.get(node);
    if (s === 'done') return;
    if (s === 'visiting') {
      cycles.push(
        [...path.slice(path.indexOf(node)), node].map((f) => relative(src, f)).join(' -> '),
      );
      return;
    }
    state.set(node, 'visiting');
    for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    state.set(node, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(cycles, [], 'import cycles');
});

test('the layer checker itself catches an upward import', () => {
  // Guard against a checker that silently passes everything.
  const rank = (p: string) => rankOf(join(src, p))!;
  assert.equal(allowedEdge(rank('concurrent.ts'), rank('web/index.ts')), false);
  assert.equal(allowedEdge(rank('ioloop.ts'), rank('gen.ts')), false);
  assert.equal(allowedEdge(rank('gen.ts'), rank('ioloop.ts')), true);
  assert.equal(allowedEdge(rank('httpserver.ts'), rank('web/application.ts')), false);
  assert.equal(allowedEdge(rank('internal/deque.ts'), rank('errors.ts')), false);
  assert.equal(allowedEdge(rank('web/application.ts'), rank('index.ts')), false);
  assert.equal(allowedEdge(rank('iostream.ts'), rank('tcpclient.ts')), true);
});
