import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml } from '../../src/web/html.ts';

test('escapeHtml replaces the five markup characters and nothing else', () => {
  assert.equal(
    escapeHtml(`<script>alert("x" & 'y')</script>`),
    '&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;',
  );
  assert.equal(escapeHtml('plain text, é ü 日本'), 'plain text, é ü 日本');
  assert.equal(escapeHtml('&amp;'), '&amp;amp;', 'escapes once, never decodes');
});
