#!/usr/bin/env python3
"""Checks Scribe's batch output with the `openai` package's own types.

    check_batch_lines.py [--batch BATCH.json] [LINES.jsonl ...]

Every line of every LINES file must be an OpenAI batch output line: {"id", "custom_id",
"response": {"status_code", "request_id", "body"}, "error": null} whose body validates as
openai.types.chat.ChatCompletion or openai.types.Completion, or an error line
{"id", "custom_id", "response": null, "error": {"code", "message"}}. BATCH.json must
validate as openai.types.Batch. Prints "ok: N lines" or the first problem (exit 1).
"""
import json
import sys

from openai.types import Batch, BatchRequestCounts, Completion
from openai.types.chat import ChatCompletion


def check_line(text):
    line = json.loads(text)
    assert set(line) == {"id", "custom_id", "response", "error"}, f"keys {sorted(line)}"
    assert isinstance(line["id"], str) and isinstance(line["custom_id"], str)
    if line["response"] is None:
        error = line["error"]
        assert isinstance(error, dict) and isinstance(error["code"], str) and isinstance(error["message"], str), error
        return "error"
    assert line["error"] is None
    response = line["response"]
    assert response["status_code"] == 200 and isinstance(response["request_id"], str), response
    body = response["body"]
    if body.get("object") == "chat.completion":
        completion = ChatCompletion.model_validate(body)
        for choice in completion.choices:
            assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    elif body.get("object") == "text_completion":
        completion = Completion.model_validate(body)
    else:
        raise AssertionError(f"unknown body object {body.get('object')!r}")
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert [c.index for c in completion.choices] == list(range(len(completion.choices)))
    return "output"


def main(argv):
    count = 0
    args = list(argv)
    if args[:1] == ["--batch"]:
        with open(args[1]) as f:
            batch = Batch.model_validate(json.load(f))
        BatchRequestCounts.model_validate(batch.request_counts.model_dump())
        args = args[2:]
    for path in args:
        with open(path) as f:
            for number, text in enumerate(f, 1):
                try:
                    check_line(text)
                except Exception as problem:  # report which line and why
                    print(f"{path}:{number}: {type(problem).__name__}: {problem}\n{text}")
                    return 1
                count += 1
    print(f"ok: {count} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
