"""The bare FastAPI endpoint the mock is measured against: reads the body, answers a small JSON.

Run: ``python bench/_bare_app.py PORT`` (served by uvicorn exactly as the mock is: one process,
the same loop and HTTP parser, no access log).
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()


@app.put("/{path:path}")
async def sink(path: str, request: Request) -> dict[str, object]:
    body = await request.body()
    return {"ok": True, "size": len(body)}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
