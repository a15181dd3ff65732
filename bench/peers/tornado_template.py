"""Peer for bench/template.bench.ts: Tornado's own template engine rendering the same page (a
base layout and a 100-row table) as the typhoon, nunjucks and Eta templates of the benchmark.

Usage: python3 tornado_template.py render SECONDS   -> prints renders per second
       python3 tornado_template.py compile COUNT    -> prints microseconds per compile
       python3 tornado_template.py check            -> prints one rendered page
"""
import sys
import time

from tornado.template import DictLoader

TEMPLATES = {
    "base.html": """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>{% block title %}Site{% end %}</title></head>
<body>
<nav>{% for link in nav %}<a href="{{ link['href'] }}">{{ link['label'] }}</a> {% end %}</nav>
<main>{% block content %}{% end %}</main>
<footer>{{ footer }}</footer>
</body>
</html>
""",
    "page.html": """{% extends "base.html" %}
{% block title %}{{ title }} - Site{% end %}
{% block content %}
<h1>{{ title }}</h1>
<table>
<tr><th>#</th><th>Name</th><th>Email</th><th>Score</th></tr>
{% for row in rows %}<tr class="{{ 'active' if row['active'] else 'inactive' }}"><td>{{ row['id'] }}</td><td>{{ row['name'] }}</td><td>{{ row['email'] }}</td><td>{{ '%.1f' % row['score'] }}</td></tr>
{% end %}</table>
{% end %}
""",
}


def data():
    rows = [
        {
            "id": i,
            "name": "User <%d> & friends" % i if i % 10 == 0 else "User %d" % i,
            "email": "user%d@example.com" % i,
            "score": i * 1.25,
            "active": i % 3 == 0,
        }
        for i in range(100)
    ]
    nav = [{"href": "/%s" % p, "label": p.title()} for p in ("home", "users", "about")]
    return {"title": "Users", "rows": rows, "nav": nav, "footer": "(c) typhoon"}


def main() -> None:
    mode = sys.argv[1]
    ns = data()
    if mode == "check":
        print(DictLoader(TEMPLATES).load("page.html").generate(**ns).decode())
    elif mode == "render":
        seconds = float(sys.argv[2])
        template = DictLoader(TEMPLATES).load("page.html")
        template.generate(**ns)
        count = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for _ in range(10):
                template.generate(**ns)
            count += 10
        print(count / (time.perf_counter() - start))
    elif mode == "compile":
        count = int(sys.argv[2])
        start = time.perf_counter()
        for _ in range(count):
            DictLoader(TEMPLATES).load("page.html").generate(**ns)
        print((time.perf_counter() - start) / count * 1e6)
    else:
        raise SystemExit("unknown mode %s" % mode)


if __name__ == "__main__":
    main()
