// The templates example: the layout and the table page, the UI module's rows and style sheet,
// the UI method, Spanish by Accept-Language or ?lang=, the XSRF-protected form, and a run as a
// script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../../src/testing.ts';
import { makeTemplatesApp } from '../../examples/templates/app.ts';

/** GET through node:http (fetch would add `Accept-Language: *`). */
function page(
  srv: TestServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: srv.port, path, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .on('error', reject);
  });
}

const rows = (html: string) => [...html.matchAll(/<tr><td>(.*?)<\/td><td>(.*?)<\/td>/g)];

test('the catalogue page: layout, table rows from the UI module, its CSS linked once', async (t) => {
  const srv = await startTestServer(makeTemplatesApp());
  t.after(() => srv.close());
  const res = await page(srv, '/');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/html; charset=UTF-8');
  const html = res.body;
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">/);
  assert.match(
    html,
    /<title>Books · Library<\/title>\n<link href="\/static\/books\.css\?v=[0-9a-f]{32}"/,
  );
  assert.equal(html.match(/books\.css/g)?.length, 1);
  assert.deepEqual(
    rows(html).map((m) => m[1]),
    ['Dune', 'Cien años de soledad', 'Tags &lt;b&gt; &amp; &quot;quotes&quot; are only text'],
  );
  assert.match(html, /<p>3 books<\/p>/);
  assert.match(html, /<input type="hidden" name="_xsrf" value="[^"]+"\/>/);
  // The linked style sheet is served.
  const css = /href="(\/static\/books\.css\?v=[0-9a-f]+)"/.exec(html)![1]!;
  assert.match((await page(srv, css)).body, /table\.books/);
});

test('Spanish for a browser that prefers it, or with ?lang=es; English otherwise', async (t) => {
  const srv = await startTestServer(makeTemplatesApp());
  t.after(() => srv.close());
  const spanish = (await page(srv, '/', { 'accept-language': 'es-MX,es;q=0.9,en;q=0.8' })).body;
  assert.match(spanish, /<html lang="es">/);
  assert.match(spanish, /<th>Título<\/th><th>Autor<\/th><th>Año<\/th>/);
  assert.match(spanish, /<p>3 libros<\/p>/);
  assert.match(spanish, /<button>Añadir<\/button>/);
  assert.match((await page(srv, '/?lang=es', { 'accept-language': 'en' })).body, /<h1>Biblioteca/);
  assert.match(
    (await page(srv, '/', { 'accept-language': 'en-US, es;q=0.5' })).body,
    /<h1>Library/,
  );
  // As in Tornado, a bare `en` does not match the regional default en_US: the next wish wins.
  assert.match(
    (await page(srv, '/', { 'accept-language': 'en, es;q=0.5' })).body,
    /<h1>Biblioteca/,
  );
});

test('the form adds a book (with its XSRF token) and the page shows it, escaped', async (t) => {
  const srv = await startTestServer(makeTemplatesApp());
  t.after(() => srv.close());
  const first = await srv.fetch('/');
  const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0]!;
  const token = /name="_xsrf" value="([^"]+)"/.exec(await first.text())![1]!;
  const added = await srv.fetch('/add', {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: `_xsrf=${encodeURIComponent(token)}&title=${encodeURIComponent('<New>')}`,
    redirect: 'manual',
  });
  assert.equal(added.status, 302);
  assert.equal(added.headers.get('location'), '/');
  const html = (await page(srv, '/')).body;
  assert.equal(rows(html).at(-1)![1], '&lt;New&gt;');
  assert.match(html, /<p>4 books<\/p>/);
});

test('runs as a script and serves the page', async (t) => {
  const script = fileURLToPath(new URL('../../examples/templates/app.ts', import.meta.url));
  const child = spawn(process.execPath, [script, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill());
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  const html = await (await fetch(`http://127.0.0.1:${port}/?lang=es`)).text();
  assert.match(html, /<title>Libros · Biblioteca<\/title>/);
});
