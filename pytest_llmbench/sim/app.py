"""The simulator's ASGI application: routes for every provider plus health and metrics.

Routing is by path only, so query strings (Azure's ``?api-version=``) are
ignored. The app is a bare ``starlette.routing.Router`` without middleware,
and generation routes are raw ASGI endpoints: the request path stays short,
which keeps the delivered TTFT close to the configured one under load.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, Router

from pytest_llmbench.sim import (
    agent_api,
    anthropic_api,
    batch_anthropic,
    batch_bedrock,
    batch_openai,
    bedrock_api,
    openai_api,
    responses_api,
)
from pytest_llmbench.sim.agent_api import AgentScripts
from pytest_llmbench.sim.answers import entries_from
from pytest_llmbench.sim.batch_jobs import BatchStore
from pytest_llmbench.sim.config import BatchSettings, SimConfig, SimConfigError
from pytest_llmbench.sim.respond import (
    Receive,
    Scope,
    Send,
    Wire,
    arrival_time,
    handle,
    send_bytes,
    wall_time,
)
from pytest_llmbench.sim.state import FAULT_HEADER, Plan, SimError, SimRequest, SimState

OPENAI_CHAT = "/v1/chat/completions"
OPENAI_RESPONSES = "/v1/responses"
ANTHROPIC_MESSAGES = "/v1/messages"
VERTEX_ANTHROPIC = "/v1/projects/{p}/locations/{r}/publishers/anthropic/models/{model}"
BEDROCK_CONVERSE = "/model/{modelId}/converse"
BEDROCK_STREAM = "/model/{modelId}/converse-stream"


class Generation:
    """A raw ASGI endpoint for one generation route (no Request object, no wrapper).

    Starlette passes a non-function endpoint through untouched, so each token
    of a stream costs one ``send`` and nothing more.
    """

    def __init__(self, state: SimState, route: str,
                 parse: Callable[[Scope, bytes], SimRequest],
                 wire: Callable[[Plan | None], Wire], agent: str | None = None,
                 scripts: AgentScripts | None = None) -> None:
        self.state = state
        self.route = route
        self.parse = parse
        self.wire = wire
        self.agent = agent  # the wire format of scripted agent turns on this route
        self.scripts = scripts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client gone before the body arrived
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if self.agent is not None and await self._agent_turn(scope, body, send):
            return
        app = await handle(self.state, scope, body, self.route,
                           lambda b: self.parse(scope, b), self.wire)
        await app(scope, receive, send)


    async def _agent_turn(self, scope: Scope, body: bytes, send: Send) -> bool:
        """A streamed request offering tools to a known model: a scripted agent turn
        (:mod:`sim.agent_api`); anything else (faults too) takes the usual path."""
        data = agent_api.wants_tools(self.agent, body)  # type: ignore[arg-type]
        headers = Headers(scope=scope)
        if data is None or headers.get(FAULT_HEADER) or self.scripts is None:
            return False
        if self.agent == "bedrock":
            model = scope.get("path_params", {}).get("model_id", "")
        elif self.agent == "responses":  # answered streamed or not, as asked
            model = data.get("model")
            try:
                responses_api.messages_of(data)
            except SimError:
                return False  # malformed input: the usual path answers 400
        else:
            model = scope.get("path_params", {}).get("deployment") or data.get("model")
            if not data.get("stream"):
                return False
        profile = self.state.config.model(str(model or ""))
        if profile is None:
            return False
        ctype, payload = agent_api.respond(self.agent, str(model), profile.policy,  # type: ignore[arg-type]
                                           self.scripts, data)
        await send_bytes(send, 200, [(b"content-type", ctype)], payload)
        self.state.metrics.request_done(self.route, profile.name, 200)
        self.state.metrics.recent.append({"at": wall_time(arrival_time(scope)),
                                          "route": self.route, "model": profile.name,
                                          "status": 200, "stream": True, "agent": True})
        return True


def create_app(config: SimConfig | None = None, state: SimState | None = None) -> Router:
    """Build the ASGI app; ``app.state.sim`` is the ``SimState`` (metrics, config)."""
    if state is None:
        state = SimState.from_config(config or SimConfig())
    if state.batches is None:
        settings = BatchSettings()
        settings.update(state.config.batch)
        state.batches = BatchStore(settings)

    def parse_chat(scope: Scope, body: bytes) -> SimRequest:
        deployment = scope.get("path_params", {}).get("deployment")
        return openai_api.parse_chat(Headers(scope=scope), body, deployment)

    def parse_responses(scope: Scope, body: bytes) -> SimRequest:
        return responses_api.parse_responses(Headers(scope=scope), body)

    def parse_messages(scope: Scope, body: bytes) -> SimRequest:
        return anthropic_api.parse_messages(Headers(scope=scope), body)

    def parse_vertex(scope: Scope, body: bytes) -> SimRequest:
        model = scope["path_params"]["model_action"].rpartition(":")[0]
        return anthropic_api.parse_messages(Headers(scope=scope), body, model or None)

    def parse_converse(stream: bool) -> Callable[[Scope, bytes], SimRequest]:
        def parse(scope: Scope, body: bytes) -> SimRequest:
            model_id = scope["path_params"]["model_id"]
            return bedrock_api.parse_converse(Headers(scope=scope), body, model_id, stream)

        return parse

    scripts = AgentScripts()
    chat = Generation(state, OPENAI_CHAT, parse_chat, openai_api.OpenAIWire, "openai", scripts)
    responses = Generation(state, OPENAI_RESPONSES, parse_responses,
                           responses_api.ResponsesWire, "responses", scripts)
    messages = Generation(state, ANTHROPIC_MESSAGES, parse_messages, anthropic_api.AnthropicWire,
                          "anthropic", scripts)
    vertex = Generation(state, VERTEX_ANTHROPIC, parse_vertex, anthropic_api.AnthropicWire)
    converse = Generation(state, BEDROCK_CONVERSE, parse_converse(False), bedrock_api.BedrockWire)
    converse_stream = Generation(state, BEDROCK_STREAM, parse_converse(True),
                                 bedrock_api.BedrockWire, "bedrock", scripts)

    async def models(request: Request) -> Response:
        state.metrics.request_done(request.url.path, "-", 200)
        return Response(openai_api.models_list(list(state.config.models)),
                        media_type="application/json")

    async def tags(request: Request) -> Response:
        state.metrics.request_done(request.url.path, "-", 200)
        return Response(openai_api.ollama_tags(list(state.config.models)),
                        media_type="application/json")

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "models": sorted(state.config.models),
                             "answer_key_entries": len(state.answer_key.entries)})

    async def metrics(request: Request) -> Response:
        if request.method == "DELETE":
            state.metrics.reset()
            return JSONResponse({"reset": True})
        wanted = request.query_params.get("format", "")
        accept = request.headers.get("accept", "")
        if wanted == "prometheus" or (not wanted and accept.startswith("text/plain")):
            return PlainTextResponse(state.metrics.as_prometheus(),
                                     media_type="text/plain; version=0.0.4")
        return Response(json.dumps(state.metrics.as_json()), media_type="application/json")

    async def add_answers(request: Request) -> Response:
        """Answer-key entries posted by the plugin once its suites are collected."""
        try:
            entries = entries_from(await request.json(), "POST /llmbench/answer-key")
        except (ValueError, SimConfigError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        added = state.answer_key.add_many(entries)
        return JSONResponse({"added": added, "entries": len(state.answer_key.entries)})

    async def add_solutions(request: Request) -> Response:
        """Agent task solution scripts, keyed by instruction (see sim/agent_api.py)."""
        try:
            added = scripts.add_many(await request.json())
        except (ValueError, agent_api.ScriptError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"added": added, "scripts": len(scripts.scripts)})

    routes = [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/chat/completions", chat, methods=["POST"]),
        Route("/openai/deployments/{deployment}/chat/completions", chat, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/responses", responses, methods=["POST"]),
        Route("/v1/messages", messages, methods=["POST"]),
        # Claude on Vertex: {model}:rawPredict or {model}:streamRawPredict (stream is in the body)
        Route("/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model_action}",
              vertex, methods=["POST"]),
        Route("/model/{model_id:path}/converse-stream", converse_stream, methods=["POST"]),
        Route("/model/{model_id:path}/converse", converse, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/models", models, methods=["GET"]),
        Route("/api/tags", tags, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET", "DELETE"]),
        Route("/llmbench/answer-key", add_answers, methods=["POST"]),
        *batch_openai.routes(state, state.batches),
        *batch_anthropic.routes(state, state.batches),
        *batch_bedrock.routes(state, state.batches),
        Route("/llmbench/agent-solutions", add_solutions, methods=["POST"]),
    ]
    app = Router(routes=routes)
    app.state = state  # type: ignore[attr-defined]
    return app
