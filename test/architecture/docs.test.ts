// Every public name has TSDoc: each export of src/index.ts resolves to a declaration that
// carries a documentation comment, so editors and the generated .d.ts explain it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

test('every export of src/index.ts is documented', { timeout: 120_000 }, () => {
  const index = join(root, 'src/index.ts');
  const program = ts.createProgram([index], {
    allowImportingTsExtensions: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(index);
  assert.ok(source, 'src/index.ts not loaded');
  const moduleSymbol = checker.getSymbolAtLocation(source);
  assert.ok(moduleSymbol, 'src/index.ts has no module symbol');
  const exports = checker.getExportsOfModule(moduleSymbol);
  assert.ok(exports.length > 100, `only ${exports.length} exports found`);
  const undocumented: string[] = [];
  for (const exported of exports) {
    const symbol =
      exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const documented =
      symbol.getDocumentationComment(checker).length > 0 ||
      (symbol.declarations ?? []).some((d) => ts.getJSDocCommentsAndTags(d).length > 0);
    if (!documented) undocumented.push(exported.getName());
  }
  assert.deepEqual(undocumented, [], 'exports without TSDoc');
});
