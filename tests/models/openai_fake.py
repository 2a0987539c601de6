"""A real OpenAI-compatible HTTP server on loopback for the model tests.

Not a mock of litellm: litellm talks HTTP to it exactly as it would to vLLM or llama.cpp.
Each test scripts the server's answers (an HTTP error status, or an assistant message) and
reads back the requests it received.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = int | dict[str, Any]


class FakeOpenAIServer:
    """Serves ``/v1/chat/completions`` from a queue of answers; records every request."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        self.model_name = "fake-model"
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": server.model_name}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                server.auth.append(self.headers.get("Authorization"))
                answer: Answer = server.answers.pop(0) if server.answers else {"content": "ok"}
                if isinstance(answer, int):
                    kind = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(answer, "err")
                    self._send(
                        answer,
                        {"error": {"message": f"fake error {answer}", "type": kind, "code": kind}},
                    )
                    return
                message = {"role": "assistant", "content": answer.get("content")}
                if answer.get("tool_calls"):
                    message["tool_calls"] = [
                        {
                            "id": f"call_{i}",
                            "type": "function",
                            "function": {
                                "name": tc["name"],
                                "arguments": tc["arguments"]
                                if isinstance(tc["arguments"], str)
                                else json.dumps(tc["arguments"]),
                            },
                        }
                        for i, tc in enumerate(answer["tool_calls"])
                    ]
                self._send(
                    200,
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": server.model_name,
                        "choices": [
                            {
                                "index": 0,
                                "message": message,
                                "finish_reason": "tool_calls"
                                if answer.get("tool_calls")
                                else "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": answer.get("prompt_tokens", 11),
                            "completion_tokens": answer.get("completion_tokens", 7),
                            "total_tokens": answer.get("prompt_tokens", 11)
                            + answer.get("completion_tokens", 7),
                        },
                    },
                )

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
