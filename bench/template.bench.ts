/**
 * Template rendering: one page (a base layout it extends, a navigation loop and a 100-row
 * table with escaped cells) written for each engine — typhoon's Tornado-syntax templates,
 * nunjucks, Eta, and Python Tornado 6's own engine (bench/peers/tornado_template.py, in a
 * python3 child; skipped with the reason printed when no python3 with tornado is found).
 *
 * First renders/s of the compiled, cached page (issue 15's target: ≥ Eta and ≥ 5× Tornado),
 * then, separately, the cost of compiling the page from source (with its base) and rendering
 * it once, in µs: what a template costs once per process, or on every render with
 * `cache: false`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import nunjucks from 'nunjucks';
import type { Bench, BenchFactory, Contender } from './harness.ts';
import { tornadoPython } from './peers/spawn.ts';
import { DictLoader } from '../src/template/index.ts';

const ROWS = 100;

interface Row {
  id: number;
  name: string;
  email: string;
  score: number;
  active: boolean;
}

function pageData() {
  const rows: Row[] = Array.from({ length: ROWS }, (_, i) => ({
    id: i,
    name: i % 10 === 0 ? `User <${i}> & friends` : `User ${i}`,
    email: `user${i}@example.com`,
    score: i * 1.25,
    active: i % 3 === 0,
  }));
  const nav = ['home', 'users', 'about'].map((p) => ({
    href: `/${p}`,
    label: p[0]!.toUpperCase() + p.slice(1),
  }));
  return { title: 'Users', rows, nav, footer: '(c) typhoon' };
}

// The same page in each engine's syntax.
const TYPHOON = {
  'base.html': `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>{% block title %}Site{% end %}</title></head>
<body>
<nav>{% for link in nav %}<a href="{{ link.href }}">{{ link.label }}</a> {% end %}</nav>
<main>{% block content %}{% end %}</main>
<footer>{{ footer }}</footer>
</body>
</html>
`,
  'page.html': `{% extends "base.html" %}
{% block title %}{{ title }} - Site{% end %}
{% block content %}
<h1>{{ title }}</h1>
<table>
<tr><th>#</th><th>Name</th><th>Email</th><th>Score</th></tr>
{% for row in rows %}<tr class="{{ row.active ? 'active' : 'inactive' }}"><td>{{ row.id }}</td><td>{{ row.name }}</td><td>{{ row.email }}</td><td>{{ row.score.toFixed(1) }}</td></tr>
{% end %}</table>
{% end %}
`,
};

const NUNJUCKS = {
  'base.html': `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>{% block title %}Site{% endblock %}</title></head>
<body>
<nav>{% for link in nav %}<a href="{{ link.href }}">{{ link.label }}</a> {% endfor %}</nav>
<main>{% block content %}{% endblock %}</main>
<footer>{{ footer }}</footer>
</body>
</html>
`,
  'page.html': `{% extends "base.html" %}
{% block title %}{{ title }} - Site{% endblock %}
{% block content %}
<h1>{{ title }}</h1>
<table>
<tr><th>#</th><th>Name</th><th>Email</th><th>Score</th></tr>
{% for row in rows %}<tr class="{{ 'active' if row.active else 'inactive' }}"><td>{{ row.id }}</td><td>{{ row.name }}</td><td>{{ row.email }}</td><td>{{ row.score.toFixed(1) }}</td></tr>
{% endfor %}</table>
{% endblock %}
`,
};

const ETA = {
  base: `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title><%= it.title %> - Site</title></head>
<body>
<nav><% for (const link of it.nav) { %><a href="<%= link.href %>"><%= link.label %></a> <% } %></nav>
<main><%~ it.body %></main>
<footer><%= it.footer %></footer>
</body>
</html>
`,
  page: `<% layout('@base', it) %>
<h1><%= it.title %></h1>
<table>
<tr><th>#</th><th>Name</th><th>Email</th><th>Score</th></tr>
<% for (const row of it.rows) { %><tr class="<%= row.active ? 'active' : 'inactive' %>"><td><%= row.id %></td><td><%= row.name %></td><td><%= row.email %></td><td><%= row.score.toFixed(1) %></td></tr>
<% } %></table>
`,
};

function typhoonPage() {
  return new DictLoader(TYPHOON).load('page.html');
}

function nunjucksEnv(): nunjucks.Environment {
  const loader: nunjucks.ILoader = {
    getSource: (name: string) => ({
      src: NUNJUCKS[name as keyof typeof NUNJUCKS],
      path: name,
      noCache: false,
    }),
  };
  return new nunjucks.Environment(loader, { autoescape: true });
}

function etaEngine(): Eta {
  const eta = new Eta({ autoEscape: true, cache: true });
  eta.loadTemplate('@base', ETA.base);
  eta.loadTemplate('@page', ETA.page);
  return eta;
}

/** Check that every engine renders the page it is meant to: 100 rows, names escaped. */
function checkPage(engine: string, html: string): void {
  const rows = html.match(/<tr class="(?:in)?active">/g)?.length ?? 0;
  if (rows !== ROWS) throw new Error(`${engine}: ${rows} rows rendered, not ${ROWS}`);
  if (!html.includes('User &lt;90&gt; &amp; friends') || html.includes('<90>')) {
    throw new Error(`${engine}: a name was not escaped`);
  }
  if (!html.includes('<title>Users - Site</title>') || !html.includes('>123.8<')) {
    throw new Error(`${engine}: layout or cells missing`);
  }
}

/** Renders per second of `render` for about `ms`, in batches of 10. */
function rendersPerSecond(ms: number, render: () => string): number {
  let count = 0;
  let sink = 0;
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 10; i++) sink += render().length;
    count += 10;
  }
  if (sink === 0) throw new Error('nothing rendered');
  return count / ((performance.now() - start) / 1000);
}

/** µs per call of `fn`, over `n` calls. */
function microsPerCall(n: number, fn: () => string): number {
  const start = performance.now();
  let sink = 0;
  for (let i = 0; i < n; i++) sink += fn().length;
  if (sink === 0) throw new Error('nothing rendered');
  return ((performance.now() - start) * 1000) / n;
}

function tornado(python: string, args: string[]): Promise<string> {
  const script = fileURLToPath(new URL('./peers/tornado_template.py', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`tornado_template.py ${args.join(' ')} exited with ${code}: ${out}`));
    });
  });
}

async function tornadoNumber(python: string, args: string[]): Promise<number> {
  const value = Number((await tornado(python, args)).trim());
  if (!Number.isFinite(value)) throw new Error(`tornado_template.py gave ${value}`);
  return value;
}

const factory: BenchFactory = async ({ smoke, sampleMs }) => {
  const data = pageData();
  const page = typhoonPage();
  const env = nunjucksEnv();
  const eta = etaEngine();
  checkPage('typhoon', page.generate(data));
  checkPage('nunjucks', env.render('page.html', data));
  checkPage('eta', eta.render('@page', data));

  const python = tornadoPython();
  if (python === null) {
    console.log('> Python Tornado 6 not found (python3-tornado): Tornado columns skipped.\n');
  } else {
    checkPage('tornado', await tornado(python, ['check']));
  }

  const render: Contender[] = [
    {
      name: 'typhoon Template',
      measure: () => rendersPerSecond(sampleMs, () => page.generate(data)),
    },
    { name: 'Eta', measure: () => rendersPerSecond(sampleMs, () => eta.render('@page', data)) },
    {
      name: 'nunjucks',
      measure: () => rendersPerSecond(sampleMs, () => env.render('page.html', data)),
    },
  ];
  if (python !== null) {
    render.push({
      name: 'Tornado 6 template (python3)',
      measure: () => tornadoNumber(python, ['render', String(sampleMs / 1000)]),
    });
  }

  const compiles = smoke ? 20 : 300;
  const compile: Contender[] = [
    {
      name: 'typhoon Template',
      measure: () => microsPerCall(compiles, () => typhoonPage().generate(data)),
    },
    {
      name: 'Eta',
      measure: () => microsPerCall(compiles, () => etaEngine().render('@page', data)),
    },
    {
      name: 'nunjucks',
      measure: () => microsPerCall(compiles, () => nunjucksEnv().render('page.html', data)),
    },
  ];
  if (python !== null) {
    compile.push({
      name: 'Tornado 6 template (python3)',
      measure: () => tornadoNumber(python, ['compile', String(compiles)]),
    });
  }

  const benches: Bench[] = [
    {
      name: `template: a page with a base layout and a ${ROWS}-row table, compiled once`,
      unit: 'renders/s',
      higherIsBetter: true,
      baseline: 'Eta',
      target: 'typhoon ≥ Eta, ≥ 5x Tornado',
      contenders: render,
    },
    {
      name: 'template: compile the page and its base from source, then render once',
      unit: 'µs',
      higherIsBetter: false,
      baseline: 'Eta',
      contenders: compile,
    },
  ];
  return benches;
};

export default factory;
