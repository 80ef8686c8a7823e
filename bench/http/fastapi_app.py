"""bench/http/fastapi_app.py — the FastAPI + Uvicorn peer of bench/http/run.sh.

Run by run.sh as `python3 -m uvicorn fastapi_app:app --workers 2
--no-access-log` with Debian's python3-fastapi (pydantic 1.x) and
python3-uvicorn. GET /healthz answers {"status":"ok"}. POST
/v1/chat/completions validates the body into ChatRequest (pydantic models with
the rules of chat_schema.json) and then answers with the status and body
hearth gave for the same request (BENCH_POST_STATUS, BENCH_POST_BODY_FILE).
A body that fails validation (or is not JSON) gets 400 with an OpenAI-shaped
error instead of FastAPI's default 422, as hearth does.
"""

import os
from typing import Any, Dict, List, Literal, Optional, Union

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import (BaseModel, StrictBool, StrictStr, confloat, conint, conlist, constr, root_validator,
                      validator)

POST_STATUS = int(os.environ.get("BENCH_POST_STATUS", "404"))
with open(os.environ["BENCH_POST_BODY_FILE"], "rb") as f:
    POST_BODY = f.read()


class ContentPart(BaseModel):
    type: Literal["text"]
    text: StrictStr


class Message(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Optional[Union[StrictStr, conlist(ContentPart, min_items=1)]] = None
    name: Optional[StrictStr] = None
    tool_call_id: Optional[StrictStr] = None
    tool_calls: Optional[List[Any]] = None

    @root_validator(skip_on_failure=True)
    def content_and_tool_call_id(cls, values):
        # Only an assistant message that calls tools may leave its content out.
        if values.get("content") is None and not (values.get("role") == "assistant" and values.get("tool_calls") is not None):
            raise ValueError("content is required")
        if values.get("role") == "tool" and values.get("tool_call_id") is None:
            raise ValueError("tool_call_id is required on a tool message")
        return values


class StreamOptions(BaseModel):
    include_usage: Optional[StrictBool] = None


class ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"]


class FunctionRef(BaseModel):
    name: constr(strict=True, min_length=1)


class Tool(BaseModel):
    type: Literal["function"]
    function: FunctionRef


class ChatRequest(BaseModel):
    model: constr(strict=True, min_length=1, max_length=256)
    messages: conlist(Message, min_items=1)
    temperature: Optional[confloat(ge=0, le=2)] = None
    top_p: Optional[confloat(ge=0, le=1)] = None
    max_tokens: Optional[conint(strict=True, ge=1)] = None
    max_completion_tokens: Optional[conint(strict=True, ge=1)] = None
    n: Optional[conint(strict=True, ge=1, le=128)] = None
    stream: Optional[StrictBool] = None
    stream_options: Optional[StreamOptions] = None
    stop: Optional[Union[StrictStr, conlist(StrictStr, max_items=4)]] = None
    presence_penalty: Optional[confloat(ge=-2, le=2)] = None
    frequency_penalty: Optional[confloat(ge=-2, le=2)] = None
    seed: Optional[conint(strict=True)] = None
    user: Optional[StrictStr] = None
    logprobs: Optional[StrictBool] = None
    top_logprobs: Optional[conint(strict=True, ge=0, le=20)] = None
    logit_bias: Optional[Dict[str, confloat(ge=-100, le=100)]] = None
    response_format: Optional[ResponseFormat] = None
    tools: Optional[List[Tool]] = None
    tool_choice: Optional[Union[Literal["none", "auto", "required"], Dict[str, Any]]] = None

    @validator("temperature", "top_p", "presence_penalty", "frequency_penalty", pre=True)
    def number_not_string(cls, v):
        # pydantic 1 turns "0.7" into 0.7; JSON numbers only, as in hearth.
        if isinstance(v, (str, bool)):
            raise ValueError("must be a number")
        return v


app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.exception_handler(RequestValidationError)
async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    err = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid body"}
    field = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    return JSONResponse(
        status_code=400,
        content={"error": {"message": f"{field}: {err.get('msg')}", "type": "invalid_request_error",
                           "param": field or None, "code": None}},
    )


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


@app.post("/v1/chat/completions")
async def chat_completions(req: ChatRequest) -> Response:
    return Response(content=POST_BODY, status_code=POST_STATUS, media_type="application/json")
