"""The LLM layer: backends that write reward code, and the plumbing that makes sampling cheap and safe.

Import cost stays small: the ``openai`` and ``anthropic`` SDKs load only when a request is made.

    from rewardlab.llm import backend_from_spec, sample, ResponseCache, Ledger, extract_code
    backend = backend_from_spec("openai:qwen2.5-coder@http://127.0.0.1:8000/v1")
    replies = sample(backend, [{"role": "user", "content": prompt}], n=4, cache=ResponseCache("cache"))
    code = extract_code(replies[0].text).code
"""

from rewardlab.llm.base import Backend, asample, run_sync, sample
from rewardlab.llm.cache import ResponseCache, cache_key
from rewardlab.llm.errors import (
    LLMBadResponse,
    LLMConfigError,
    LLMError,
    LLMRequestRejected,
    LLMRetryBudgetExhausted,
    LLMTimedOutAfterRetries,
    LLMTimeout,
    LLMUnreachable,
)
from rewardlab.llm.ledger import Ledger, LedgerEntry, LedgerSummary, Price, price_table, read_ledger
from rewardlab.llm.parse import ExtractResult, extract_code
from rewardlab.llm.preflight import check_backend
from rewardlab.llm.retry import RetryPolicy
from rewardlab.llm.scripted import ScriptedBackend
from rewardlab.llm.server import ServerInfo
from rewardlab.llm.spec import SPEC_HELP, BackendSpec, backend_from_spec, parse_spec
from rewardlab.llm.streaming import StreamStatus, watch_streams
from rewardlab.llm.types import Completion, Message, NSupport, Usage

__all__ = [
    "SPEC_HELP",
    "Backend",
    "BackendSpec",
    "Completion",
    "ExtractResult",
    "LLMBadResponse",
    "LLMConfigError",
    "LLMError",
    "LLMRequestRejected",
    "LLMRetryBudgetExhausted",
    "LLMTimedOutAfterRetries",
    "LLMTimeout",
    "LLMUnreachable",
    "Ledger",
    "LedgerEntry",
    "LedgerSummary",
    "Message",
    "NSupport",
    "Price",
    "ResponseCache",
    "RetryPolicy",
    "ScriptedBackend",
    "ServerInfo",
    "StreamStatus",
    "Usage",
    "asample",
    "backend_from_spec",
    "cache_key",
    "check_backend",
    "extract_code",
    "parse_spec",
    "price_table",
    "read_ledger",
    "run_sync",
    "sample",
    "watch_streams",
]
