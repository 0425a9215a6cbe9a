"""What proves each provider right, checked against its test file (issue 22's standard of proof).

Every provider registered in ``signatures`` is proven by its official SDK, called by its test as an
oracle (:class:`Sdk`), or by known-answer vectors copied from its documentation and cited there
(:class:`Vectors`), or both. A provider whose sender publishes neither has only the documentation's
description to go on (:class:`DocsOnly`): its test computes what to expect itself, independently of our
code, from the page it cites. Those are named in ``WITHOUT_SDK_OR_VECTOR`` and that set may only shrink:
a new provider comes with an SDK or a published vector, or this file says in review why it cannot.
"""

from __future__ import annotations

import ast
import importlib
import io
import sys
import tokenize
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import signatures

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent.parent


@dataclass(frozen=True)
class Sdk:
    """The provider's official SDK (or the reference library its documentation prescribes): the test
    imports ``module`` and calls it as an oracle, signing what we must accept or checking what we sign."""

    module: str


@dataclass(frozen=True, init=False)
class Vectors:
    """Known-answer vectors copied from the page at ``url`` (the provider's documentation, or the test
    suite of its own library where the documentation points to it), which the test cites. ``answers`` are
    the known answers (signatures, digests, the documented header) exactly as the test file holds them."""

    url: str
    answers: tuple[str, ...]

    def __init__(self, url: str, *answers: str) -> None:
        object.__setattr__(self, "url", url)
        object.__setattr__(self, "answers", answers)


@dataclass(frozen=True)
class DocsOnly:
    """Neither an SDK nor a published vector exists: the test's expected values are computed in the test,
    by the standard library (or a general-purpose library such as PyJWT), following the page at ``url``.
    ``why`` says what was looked for."""

    url: str
    why: str


Proof = Sdk | Vectors | DocsOnly

_NO_PYTHON_SDK = "no SDK of its verifies webhooks, and its docs publish no signed example"

PROOFS: dict[str, tuple[Proof, ...]] = {
    "adyen": (Sdk("Adyen"),),
    "airtable": (DocsOnly("https://airtable.com/developers/web/api/webhooks-overview", _NO_PYTHON_SDK),),
    "asana": (
        DocsOnly(
            "https://developers.asana.com/docs/webhooks-guide",
            "the docs give an X-Hook-Secret but no signed body; the test's signature is computed from them",
        ),
    ),
    "aws-sns": (
        Vectors(
            "https://github.com/aws/aws-php-sns-message-validator/blob/master/tests/FunctionalValidationsTest.php",
            "ghtf+deOBAzHJJZ6s6CdRLfTQAlcGzq9naoFM1wi0CJiq//uVRuZnamrkWNF0fhouMFvuLVRwcz8PZLUMSfn",
        ),
    ),
    "basic-auth": (
        Vectors("https://www.rfc-editor.org/rfc/rfc7617#section-2", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
    ),
    "bitbucket": (
        DocsOnly("https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/", _NO_PYTHON_SDK),
    ),
    "calendly": (
        DocsOnly(
            "https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures", _NO_PYTHON_SDK
        ),
    ),
    "clerk": (Sdk("svix"),),
    "discord": (Sdk("discord_interactions"),),
    "docusign": (
        DocsOnly(
            "https://developers.docusign.com/platform/webhooks/connect/validate/",
            "docusign-esign has no HMAC helper and the docs sign no example; the test's signature is its own",
        ),
    ),
    "github": (
        Vectors(
            "https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries",
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ),
    ),
    "gitlab": (
        Vectors(
            "https://docs.svix.com/receiving/verifying-payloads/how",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ),
    "gocardless": (Sdk("gocardless_pro"),),
    "hmac": (
        Vectors(
            "https://www.rfc-editor.org/rfc/rfc4231#section-4.3",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        Vectors(
            "https://www.rfc-editor.org/rfc/rfc2202#section-3", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        ),
    ),
    "hubspot": (
        Sdk("hubspot"),
        Vectors(
            "https://developers.hubspot.com/docs/faq/v1-request-validation",
            "232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de",
        ),
        Vectors(
            "https://developers.hubspot.com/docs/faq/v2-request-validation",
            "eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e",
        ),
    ),
    "intercom": (
        DocsOnly(
            "https://developers.intercom.com/docs/references/webhooks/webhook-models",
            "python-intercom has no webhook verifier and the docs sign no example",
        ),
    ),
    "jira": (
        DocsOnly(
            "https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks",
            "the docs sign no example; the test's signature is computed from their description",
        ),
    ),
    "linear": (
        DocsOnly(
            "https://linear.app/developers/webhooks",
            "Linear's SDK is JavaScript only, and neither its docs nor its SDK's tests fix a signature",
        ),
    ),
    "mailgun": (Sdk("mailgun"),),
    "meta": (
        DocsOnly("https://developers.facebook.com/docs/graph-api/webhooks/getting-started", _NO_PYTHON_SDK),
    ),
    "mux": (
        Vectors(
            "https://github.com/muxinc/mux-node-sdk/blob/HEAD/tests/api-resources/webhooks.test.ts",
            "854ece4c22acef7c66b57d4e504153bc512595e8e9c772ece2a68150548c19a7",
        ),
    ),
    "netlify": (
        DocsOnly(
            "https://docs.netlify.com/site-deploys/deploy-notifications/#payload-signature",
            "no SDK of Netlify's and no signed example; the JWS is checked against PyJWT both ways",
        ),
    ),
    "okta": (
        Vectors(
            "https://support.okta.com/help/s/article/Unable-to-verify-event-hook-Hook-hook-name-execution-failed",
            "Me_rShK8JHsTnbyYrWXCEoMGbM_zsZ6k0hLPZ_Pg",
        ),
    ),
    "paddle": (Sdk("paddle_billing"),),
    "pagerduty": (
        Vectors(
            "https://github.com/PagerDuty/go-pagerduty/blob/master/webhookv3/webhookv3_test.go",
            "v1=0c0b9495b893a39e70d1fea2fe11fbe0a825f88b9f67846f6cc07dd2bc5476cd",
        ),
    ),
    "paypal": (Sdk("paypalrestsdk"),),
    "razorpay": (Sdk("razorpay"),),
    "resend": (Sdk("resend"), Sdk("svix")),
    "sendgrid": (Sdk("sendgrid"),),
    "sentry": (
        DocsOnly("https://docs.sentry.io/integrations/integration-platform/webhooks/", _NO_PYTHON_SDK),
    ),
    "shopify": (
        DocsOnly(
            "https://shopify.dev/docs/apps/build/webhooks/verify-deliveries",
            "ShopifyAPI verifies only OAuth query strings, and the docs sign no example",
        ),
    ),
    "slack": (
        Sdk("slack_sdk"),
        Vectors(
            "https://docs.slack.dev/authentication/verifying-requests-from-slack/",
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
        ),
    ),
    "square": (Sdk("square"),),
    "standard-webhooks": (
        Sdk("standardwebhooks"),
        Vectors(
            "https://docs.svix.com/receiving/verifying-payloads/how",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ),
    "stripe": (Sdk("stripe"),),
    "svix": (
        Sdk("svix"),
        Vectors(
            "https://docs.svix.com/receiving/verifying-payloads/how",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ),
    "telnyx": (Sdk("telnyx"),),
    "token": (Vectors("https://www.rfc-editor.org/rfc/rfc6750#section-2.1", "mF_9.B5f-4.1JqM"),),
    "trello": (
        DocsOnly("https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/", _NO_PYTHON_SDK),
    ),
    "twilio": (Sdk("twilio"),),
    "twitch": (
        DocsOnly(
            "https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message",
            "Twitch has no Python SDK and its docs sign no example",
        ),
    ),
    "typeform": (
        DocsOnly("https://www.typeform.com/developers/webhooks/secure-your-webhooks/", _NO_PYTHON_SDK),
    ),
    "vercel": (
        DocsOnly(
            "https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks",
            "the vercel Python SDK has no webhook verifier and the docs sign no example",
        ),
    ),
    "woocommerce": (
        DocsOnly("https://developer.woocommerce.com/docs/apis/rest-api/v3/webhooks/", _NO_PYTHON_SDK),
    ),
    "xero": (
        DocsOnly(
            "https://developer.xero.com/documentation/guides/webhooks/configuring-your-server/",
            "xero-python has no webhook verifier; the docs give the payload but no key or signature",
        ),
    ),
    "zendesk": (
        DocsOnly(
            "https://developer.zendesk.com/documentation/webhooks/verifying/",
            "the docs give a test signing secret, and their only signed example is of a retired order",
        ),
    ),
    "zoom": (
        DocsOnly(
            "https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events",
            "Zoom has no Python SDK and its docs sign no example",
        ),
    ),
}

#: The providers with neither an SDK check nor a published vector. Only ever remove a name from here.
WITHOUT_SDK_OR_VECTOR = frozenset(
    {
        "airtable",
        "asana",
        "bitbucket",
        "calendly",
        "docusign",
        "intercom",
        "jira",
        "linear",
        "meta",
        "netlify",
        "sentry",
        "shopify",
        "trello",
        "twitch",
        "typeform",
        "vercel",
        "woocommerce",
        "xero",
        "zendesk",
        "zoom",
    }
)

#: Not an SDK: the standard library, general-purpose cryptography, our own code and the test tools.
NOT_AN_SDK = frozenset(
    {"signatures", "gateway", "consumers", "tests", "cryptography", "jwt", "nacl"}
) | frozenset({"pytest", "hypothesis"})


def file_for(provider: str) -> Path:
    """``tests/signatures/test_<module>.py`` for the module that registers ``provider``."""
    module = signatures.get_provider(provider).__module__
    return TESTS / f"test_{module.rsplit('.', 1)[-1]}.py"


@cache
def source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(source(path), filename=str(path))


def cited(path: Path, url: str) -> bool:
    """Whether ``url`` appears in a comment or a string (a docstring included) of the file."""
    tokens = tokenize.generate_tokens(io.StringIO(source(path)).readline)
    return any(t.type in (tokenize.COMMENT, tokenize.STRING) and url in t.string for t in tokens)


def _within(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def names_bound_to(module: str, module_tree: ast.Module) -> set[str]:
    """The names a file binds to ``module`` or its submodules: imports anywhere in it (functions
    included), and ``x = pytest.importorskip("module...")``."""
    bound: set[str] = set()
    for node in ast.walk(module_tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _within(alias.name, module):
                    bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if _within(node.module, module):
                bound.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            call = node.value
            called = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            first = call.args[0] if call.args else None
            if (
                called == "importorskip"
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _within(first.value, module)
            ):
                bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return bound


def _root(expression: ast.expr) -> str | None:
    """The name an expression such as ``a.b(c).d[0]`` starts from."""
    while True:
        if isinstance(expression, ast.Name):
            return expression.id
        if isinstance(expression, ast.Attribute | ast.Subscript):
            expression = expression.value
        elif isinstance(expression, ast.Call):
            expression = expression.func
        else:
            return None


def calls_into(module: str, module_tree: ast.Module) -> list[str]:
    """The calls the file makes into ``module``, as source text."""
    bound = names_bound_to(module, module_tree)
    return [
        ast.unparse(node.func)
        for node in ast.walk(module_tree)
        if isinstance(node, ast.Call) and _root(node.func) in bound
    ]


def _parents(module_tree: ast.Module) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(module_tree) for child in ast.iter_child_nodes(parent)}


def answer_is_used(answer: str, module_tree: ast.Module) -> bool:
    """Whether a string literal holding ``answer`` is used: inside a function or call, or bound at module
    level to a name that is read somewhere."""
    parents = _parents(module_tree)
    read = {n.id for n in ast.walk(module_tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for node in ast.walk(module_tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and answer in node.value):
            continue
        statement: ast.AST = node
        while not isinstance(statement, ast.stmt):
            statement = parents[statement]
        if parents.get(statement) is not module_tree:
            return True  # in a function (a test or its helper) or a decorator's arguments
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(isinstance(t, ast.Name) and t.id in read for t in targets):
                return True
        elif not isinstance(statement, ast.Expr):  # a bare string at module level is a docstring
            return True
    return False


def proofs_of(kind: type) -> list[tuple[str, Proof]]:
    return [(name, proof) for name, proofs in PROOFS.items() for proof in proofs if isinstance(proof, kind)]


def _id(item: tuple[str, Proof]) -> str:
    name, proof = item
    return f"{name}-{getattr(proof, 'module', '')}".rstrip("-")


def test_every_registered_provider_has_a_proof_and_every_proof_a_provider() -> None:
    registered = set(signatures.provider_names())
    assert sorted(registered - set(PROOFS)) == [], "registered without a proof: add it to PROOFS"
    assert sorted(set(PROOFS) - registered) == [], "a proof for no registered provider"
    assert all(PROOFS.values()), "an empty proof"


@pytest.mark.parametrize("provider", signatures.provider_names())
def test_every_provider_has_its_test_file(provider: str) -> None:
    assert file_for(provider).is_file(), f"{provider}: no {file_for(provider).name}"


def test_only_the_known_few_lack_an_sdk_and_a_vector() -> None:
    docs_only = {name for name, proofs in PROOFS.items() if all(isinstance(p, DocsOnly) for p in proofs)}
    assert docs_only == WITHOUT_SDK_OR_VECTOR, (
        "a provider needs its SDK or a published vector: "
        f"new without either {sorted(docs_only - WITHOUT_SDK_OR_VECTOR)}, "
        f"now proven (remove from WITHOUT_SDK_OR_VECTOR) {sorted(WITHOUT_SDK_OR_VECTOR - docs_only)}"
    )
    mixed = [name for name, proofs in PROOFS.items() if len({type(p) is DocsOnly for p in proofs}) > 1]
    assert mixed == [], (
        "DocsOnly is for a provider with nothing better: drop it where there is an SDK or vector"
    )


@pytest.mark.parametrize(("provider", "proof"), proofs_of(Sdk), ids=map(_id, proofs_of(Sdk)))
def test_sdk_is_installed_imported_and_called(provider: str, proof: Sdk) -> None:
    top = proof.module.split(".")[0]
    assert top not in NOT_AN_SDK and top not in sys.stdlib_module_names, f"{proof.module} is no provider SDK"
    importlib.import_module(proof.module)  # installed: an importorskip in the test would otherwise skip
    path = file_for(provider)
    assert names_bound_to(proof.module, tree(path)), f"{path.name} does not import {proof.module}"
    assert calls_into(proof.module, tree(path)), f"{path.name} imports {proof.module} but calls nothing of it"


@pytest.mark.parametrize(("provider", "proof"), proofs_of(Vectors), ids=map(_id, proofs_of(Vectors)))
def test_vectors_are_cited_and_held_as_literals(provider: str, proof: Vectors) -> None:
    path = file_for(provider)
    assert proof.url.startswith("https://"), proof.url
    assert cited(path, proof.url), f"{path.name} does not cite {proof.url} in a comment or docstring"
    assert proof.answers, f"{provider}: a vector needs its known answer"
    for answer in proof.answers:
        assert len(answer) >= 12 and not any(c.isspace() for c in answer), f"not a known answer: {answer!r}"
        assert answer_is_used(answer, tree(path)), f"{path.name} holds no used literal {answer!r}"


@pytest.mark.parametrize(("provider", "proof"), proofs_of(DocsOnly), ids=map(_id, proofs_of(DocsOnly)))
def test_docs_only_providers_cite_the_page_they_follow(provider: str, proof: DocsOnly) -> None:
    path = file_for(provider)
    assert proof.url.startswith("https://"), proof.url
    assert proof.why, f"{provider}: say what was looked for"
    assert cited(path, proof.url), f"{path.name} does not cite {proof.url} in a comment or docstring"


def test_the_checks_catch_what_they_are_for() -> None:
    """The AST checks themselves: an import without a call, an unread constant and a docstring are not
    proof; a call through an alias, an importorskip and a read constant are."""
    proven = ast.parse(
        "from x.y import V as W\nz = pytest.importorskip('q.r')\nK = 'abcdefabcdef0123'\n"
        "def test():\n    W(1).verify(K)\n    z.S.t()\n"
    )
    assert set(calls_into("x", proven)) == {"W(1).verify", "W"}
    assert calls_into("q", proven) == ["z.S.t"]
    assert answer_is_used("abcdefabcdef0123", proven)
    unproven = ast.parse("'''abcdefabcdef0123'''\nimport x\nK = 'abcdefabcdef0123'\nx\n")
    assert names_bound_to("x", unproven) == {"x"}
    assert calls_into("x", unproven) == []
    assert not answer_is_used("abcdefabcdef0123", unproven)


def test_every_provider_has_a_row_in_the_provider_docs() -> None:
    rows = [
        line for line in (ROOT / "docs" / "providers.md").read_text().splitlines() if line.startswith("| `")
    ]
    documented = {name for row in rows for name in row.split("|")[1].split("`")[1::2]}
    assert sorted(set(signatures.provider_names()) - documented) == []
