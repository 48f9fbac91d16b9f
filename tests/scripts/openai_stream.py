"""Streams a chat completion from a running `wgpu-ds serve` with the official openai client.

usage: openai_stream.py BASE_URL API_KEY
Prints the streamed text on the last line; exits non-zero on any client error.
"""
import sys

from openai import OpenAI

base, key = sys.argv[1], sys.argv[2]
client = OpenAI(base_url=base, api_key=key, max_retries=0, timeout=120)
models = [m.id for m in client.models.list().data]
assert models == ["wgpu-ds-tiny"], models
stream = client.chat.completions.create(
    model="wgpu-ds-tiny",
    messages=[{"role": "user", "content": "4096+8192="}],
    temperature=0,
    stream=True,
    stream_options={"include_usage": True},
)
text, finish, usage = "", None, None
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage
    for c in chunk.choices:
        text += c.delta.content or ""
        finish = c.finish_reason or finish
assert finish == "stop", finish
assert usage is not None and usage.completion_tokens >= 1, usage
whole = client.chat.completions.create(
    model="wgpu-ds-tiny",
    messages=[{"role": "user", "content": "922+3="}],
    temperature=0,
)
assert whole.choices[0].message.content == "925", whole
try:
    client.chat.completions.create(model="other", messages=[{"role": "user", "content": "x"}])
    raise SystemExit("an unknown model was accepted")
except Exception as e:  # the client raises NotFoundError with the server's JSON error
    assert getattr(e, "status_code", None) == 404, e
print(text)
