"""Load generator for bench/httpclient.bench.ts: Tornado's AsyncHTTPClient (the simple,
pure-Python client) fetching URL with CONCURRENCY requests in flight for SECONDS, printing
requests per second on stdout.

Usage: python3 tornado_client.py URL CONCURRENCY SECONDS
"""
import asyncio
import sys
import time

from tornado.httpclient import AsyncHTTPClient


async def main(url: str, concurrency: int, seconds: float) -> None:
    AsyncHTTPClient.configure(None, max_clients=concurrency)
    client = AsyncHTTPClient()
    count = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal count
        while time.monotonic() < deadline:
            await client.fetch(url)
            count += 1

    start = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    print(count / (time.monotonic() - start))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
