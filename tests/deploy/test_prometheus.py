"""The operations files agree with the code: the Prometheus rules pass promtool's checks and their own
unit tests, the example scrape config is valid, the Grafana dashboard is a well-formed dashboard, and
every metric, label and outcome that rules and dashboard use is one hookgate exports, so a renamed
metric fails here instead of silently muting an alert or blanking a panel."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

import gateway.platform.metrics
from tests.conftest import need_service

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS / "hookgate-rules.yml"
RULE_TESTS = PROMETHEUS / "hookgate-rules.test.yml"
EXAMPLE_CONFIG = PROMETHEUS / "prometheus.example.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "hookgate.json"
METRICS_MODULE = ROOT / "gateway" / "platform" / "metrics.py"
#: Where metrics are counted, for the outcome values each counter is given.
CODE = (ROOT / "gateway", ROOT / "consumers")

#: The series each kind of collector exposes (prometheus_client adds ``_total`` to a counter's name).
_SERIES = {
    "Counter": ("_total",),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_count", "_sum"),
    "Summary": ("", "_count", "_sum"),
}
#: Labels Prometheus or the collector add to every series, or to some.
_TARGET_LABELS = frozenset({"job", "instance"})
_SERIES_LABELS = {"_bucket": frozenset({"le"}), "": frozenset({"quantile"})}
#: Series that Prometheus itself writes.
_PROMETHEUS_SERIES = frozenset({"up"})
#: Grafana's own variables; ``$job``-style ones must be declared in the dashboard's templating.
_GRAFANA_VARIABLES = frozenset({"__rate_interval", "__interval", "__range", "__interval_ms", "__range_s"})

_METRIC_NAME = re.compile(r"\bhookgate_[a-z0-9_]+\b")
_RECORDED_NAME = re.compile(r"\bhookgate:[a-z0-9_:]+\b")
_SELECTOR = re.compile(r"\b(hookgate_[a-z0-9_]+)\s*\{([^}]*)\}")
_MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


# ---- what the code exports --------------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    family: str
    kind: str
    labels: tuple[str, ...]
    variable: str  # the collector's name in gateway/platform/metrics.py


def exported_series() -> dict[str, Exported]:
    """Each series name gateway/platform/metrics.py exposes, read from its source (the contract module)."""
    found: dict[str, Exported] = {}
    for statement in ast.parse(METRICS_MODULE.read_text()).body:
        if not (isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)):
            continue
        node = statement.value
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _SERIES):
            continue
        variable, kind = statement.targets[0].id, node.func.id
        name = ast.literal_eval(node.args[0])
        label_node = node.args[2] if len(node.args) > 2 else None
        for keyword in node.keywords:
            if keyword.arg == "labelnames":
                label_node = keyword.value
        labels = tuple(ast.literal_eval(label_node)) if label_node is not None else ()
        family = name.removesuffix("_total") if kind == "Counter" else name
        for suffix in _SERIES[kind]:
            extra = _SERIES_LABELS.get(suffix, frozenset()) if kind != "Gauge" else frozenset()
            found[family + suffix] = Exported(family, kind, labels + tuple(sorted(extra)), variable)
    return found


def delivery_outcomes() -> frozenset[str]:
    for node in ast.parse(METRICS_MODULE.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "OUTCOMES" for t in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    raise AssertionError("gateway/platform/metrics.py no longer defines OUTCOMES")


def counted_outcomes() -> dict[str, frozenset[str]]:
    """The ``outcome`` values each counter is given: OUTCOMES for deliveries (the receiver labels each
    source with all of them), else the string literals the code passes to ``.labels(...)``."""
    sources = [path.read_text() for folder in CODE for path in sorted(folder.rglob("*.py"))]
    found: dict[str, frozenset[str]] = {}
    for name, exported in exported_series().items():
        if "outcome" not in exported.labels:
            continue
        if exported.variable == "DELIVERIES":
            found[name] = delivery_outcomes()
            continue
        position = exported.labels.index("outcome")
        values = set()
        for source in sources:
            for call in re.findall(rf"\b{exported.variable}\.labels\(([^()]*)\)", source):
                arguments = [argument.strip() for argument in call.split(",")]
                literal = re.fullmatch(r'"(\w+)"', arguments[position]) if len(arguments) > position else None
                if literal:
                    values.add(literal.group(1))
        assert values, f"no code counts {exported.variable} with a literal outcome: check {name} by hand"
        found[name] = frozenset(values)
    return found


def test_the_source_reading_matches_the_live_collectors():
    """The AST reading above sees every collector the module really registers (none slips past it)."""
    live = {
        collector.describe()[0].name
        for collector in vars(gateway.platform.metrics).values()
        if isinstance(collector, MetricWrapperBase)
    }
    assert {e.family for e in exported_series().values()} == live


def test_the_contract_metrics_are_exported():
    series = exported_series()
    contract = {
        "hookgate_deliveries_total": {"source", "outcome"},
        "hookgate_ingest_seconds_bucket": {"source", "le"},
        "hookgate_consumer_attempts_total": {"consumer", "outcome"},
        "hookgate_consumer_seconds_bucket": {"consumer", "le"},
        "hookgate_dlq_entries": {"consumer"},
        "hookgate_queue_lag_seconds": set(),
        "hookgate_reconciler_repairs_total": set(),
        # DESIGN.md, Contract: destinations, routing, ordering.
        "hookgate_destination_state": {"consumer", "state"},
        "hookgate_destination_held": {"consumer"},
        "hookgate_ordering_blocked_keys": {"consumer"},
    }
    for name, labels in contract.items():
        assert name in series, f"{name} is contract (DESIGN.md, Observability) but not exported"
        assert set(series[name].labels) == labels, name
    assert delivery_outcomes() == {
        "accepted",
        "duplicate",
        "rejected_signature",
        "too_large",
        "rate_limited",
        "forbidden",
        "unavailable",
    }
    assert counted_outcomes()["hookgate_consumer_attempts_total"] == {"succeeded", "failed"}


# ---- what the rules and the dashboard use -----------------------------------------------------------


def load_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def load_dashboard() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def dashboard_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def dashboard_queries(dashboard: dict[str, Any]) -> dict[str, str]:
    """Every PromQL expression of the panels, by "panel id title / refId"."""
    return {
        f"panel {panel['id']} {panel['title']!r} / {target['refId']}": target["expr"]
        for panel in dashboard_panels(dashboard)
        for target in panel.get("targets", [])
    }


def variable_queries(dashboard: dict[str, Any]) -> dict[str, str]:
    return {
        f"variable {variable['name']}": variable["definition"]
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query"
    }


def usage_problems(where: str, expr: str, recorded: set[str], *, prose: bool = False) -> list[str]:
    """What in one expression names a series, label or outcome that hookgate does not export; in
    ``prose`` (an annotation) a metric family's own name is fine too."""
    series = exported_series()
    families = {e.family for e in series.values()} if prose else set()
    all_labels = set().union(*(e.labels for e in series.values())) | _TARGET_LABELS
    outcomes = counted_outcomes()
    problems = [
        f"{where}: {name} is not exported by gateway/platform/metrics.py"
        for name in _METRIC_NAME.findall(expr)
        if name not in series and name not in families
    ]
    problems += [
        f"{where}: {name} is not recorded by any rule in {RULES.name}"
        for name in _RECORDED_NAME.findall(expr)
        if name not in recorded
    ]
    for name, matchers in _SELECTOR.findall(expr):
        if name not in series:
            continue
        for label, _, value in _MATCHER.findall(matchers):
            if label not in {*series[name].labels, *_TARGET_LABELS}:
                problems.append(f"{where}: {name} has no label {label!r}")
            elif label == "outcome" and name in outcomes:
                assert re.fullmatch(r"\w+(\|\w+)*", value), f"{where}: keep outcome matchers literal"
                problems += [
                    f"{where}: {name} has no outcome {each!r}"
                    for each in value.split("|")
                    if each not in outcomes[name]
                ]
    for grouping in _GROUPING.findall(expr):
        for label in filter(None, (part.strip() for part in grouping.split(","))):
            if label not in all_labels:
                problems.append(f"{where}: no hookgate metric has the label {label!r}")
    return problems


def test_the_rules_use_only_exported_metrics_labels_and_outcomes():
    rules = load_rules()
    recorded = {rule["record"] for rule in rules if "record" in rule}
    problems = []
    for rule in rules:
        where = rule.get("alert") or rule["record"]
        problems += usage_problems(where, rule["expr"], recorded)
        # Annotations name metrics for the operator too: they must be real.
        for text in rule.get("annotations", {}).values():
            problems += usage_problems(f"{where} (annotation)", text, recorded, prose=True)
    assert not problems, "\n".join(problems)


def test_the_dashboard_uses_only_exported_metrics_labels_and_outcomes():
    dashboard = load_dashboard()
    queries = dashboard_queries(dashboard) | variable_queries(dashboard)
    problems = [problem for where, expr in queries.items() for problem in usage_problems(where, expr, set())]
    assert not problems, "\n".join(problems)


def test_a_renamed_metric_or_outcome_is_caught():
    """The checks above fail for the mistakes they exist for."""
    assert usage_problems("x", "rate(hookgate_delivery_total[5m])", set())
    assert usage_problems("x", 'rate(hookgate_deliveries_total{outcome="refused"}[5m])', set())
    assert usage_problems("x", 'rate(hookgate_deliveries_total{outcome=~"accepted|dup"}[5m])', set())
    assert usage_problems("x", 'hookgate_dlq_entries{source="github"}', set())
    assert usage_problems("x", "sum by (consumer_name) (hookgate_dlq_entries)", set())
    assert usage_problems("x", "hookgate:nothing:rate5m", set())
    assert not usage_problems(
        "x", 'sum by (job) (rate(hookgate_deliveries_total{outcome="accepted"}[5m]))', set()
    )


def test_every_exported_metric_has_a_dashboard_panel():
    """A metric added to gateway/platform/metrics.py gets a panel in deploy/grafana/hookgate.json too."""
    used = set().union(*(_METRIC_NAME.findall(expr) for expr in dashboard_queries(load_dashboard()).values()))
    shown = {exported_series()[name].family for name in used if name in exported_series()}
    missing = {e.family for e in exported_series().values()} - shown
    assert not missing, f"no panel in {DASHBOARD.relative_to(ROOT)} shows {sorted(missing)}"


# ---- the rules' own shape ---------------------------------------------------------------------------


def test_every_alert_tells_the_operator_what_and_what_next():
    alerts = [rule for rule in load_rules() if "alert" in rule]
    assert alerts
    for alert in alerts:
        name = alert["alert"]
        assert name.startswith("Hookgate"), name
        assert alert.get("labels", {}).get("severity") in {"critical", "warning"}, name
        assert {"summary", "description", "runbook"} <= set(alert.get("annotations", {})), name


def test_every_alert_has_a_unit_test_that_fires_it_and_one_that_keeps_it_quiet():
    alerts = {rule["alert"] for rule in load_rules() if "alert" in rule}
    cases = [
        case
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    fired = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert alerts - fired == set(), f"no unit test makes these fire: {sorted(alerts - fired)}"
    assert alerts - quiet == set(), f"no unit test keeps these quiet: {sorted(alerts - quiet)}"


# ---- the dashboard's shape --------------------------------------------------------------------------


def test_the_dashboard_is_an_importable_grafana_dashboard():
    dashboard = load_dashboard()
    assert isinstance(dashboard["title"], str) and dashboard["title"]
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", dashboard["uid"])
    assert 36 <= dashboard["schemaVersion"] <= 41
    assert dashboard["id"] is None, "an exported dashboard carries no database id"
    inputs = {i["name"]: i for i in dashboard["__inputs"]}
    assert inputs["DS_PROMETHEUS"]["type"] == "datasource"
    assert inputs["DS_PROMETHEUS"]["pluginId"] == "prometheus"
    variables = {v["name"] for v in dashboard["templating"]["list"]}

    panels = dashboard_panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    boxes = []
    for panel in panels:
        title = panel["title"]
        assert panel["type"] in {"row", "stat", "timeseries", "gauge", "bargauge", "table", "text"}, title
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("h", "w", "x", "y")), title
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, title
        boxes.append((title, grid))
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, title
        assert panel["targets"], f"{title} has no query"
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), title
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", title
            assert target["expr"].strip(), title
            for variable in re.findall(r"\$\{?(\w+)", target["expr"]):
                assert variable in variables | _GRAFANA_VARIABLES, f"{title}: ${variable} is not declared"
    for index, (title, a) in enumerate(boxes):
        for other, b in boxes[index + 1 :]:
            overlap = (
                a["x"] < b["x"] + b["w"]
                and b["x"] < a["x"] + a["w"]
                and a["y"] < b["y"] + b["h"]
                and b["y"] < a["y"] + a["h"]
            )
            assert not overlap, f"panels {title!r} and {other!r} overlap"


# ---- promtool ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        need_service("no promtool on PATH (Debian: apt-get install prometheus; make test does it as root)")
    assert path is not None
    return path


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, check=False)


def assert_ok(answer: subprocess.CompletedProcess[str]) -> None:
    assert answer.returncode == 0, answer.stdout + answer.stderr


def test_the_rules_pass_promtool_check(promtool):
    assert_ok(run(promtool, "check", "rules", RULES))


def test_the_rules_pass_their_unit_tests(promtool):
    assert_ok(run(promtool, "test", "rules", RULE_TESTS))


def test_the_example_config_is_valid_with_its_rules_and_token_file(promtool, tmp_path):
    """As an operator lays it out: the config, the rules beside it, and the scraper's token file."""
    shutil.copy(EXAMPLE_CONFIG, tmp_path / "prometheus.yml")
    shutil.copy(RULES, tmp_path / RULES.name)
    (tmp_path / "hookgate-metrics.token").write_text("a-metrics-scope-secret\n")
    answer = run(promtool, "check", "config", tmp_path / "prometheus.yml")
    assert_ok(answer)
    assert "1 rule files found" in answer.stdout + answer.stderr


def test_the_dashboard_queries_are_valid_promql(promtool, tmp_path):
    """Each panel's query, with Grafana's variables filled in, passes promtool as a recording rule."""
    values = {"__rate_interval": "2m", "__interval": "1m", "__range": "6h", "job": "hookgate"}
    rules = []
    for index, expr in enumerate(dashboard_queries(load_dashboard()).values()):
        filled = re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m.group(1), ".*"), expr)
        rules.append({"record": f"dashboard:query_{index}", "expr": filled})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    assert_ok(run(promtool, "check", "rules", path))


def test_promtool_fails_a_broken_rule_file_and_a_changed_threshold(promtool, tmp_path):
    """The checks above can fail: a syntax error fails `check`, a moved threshold fails `test`."""
    broken = tmp_path / "broken" / RULES.name
    broken.parent.mkdir()
    broken.write_text(RULES.read_text().replace('up{job="hookgate"} == 0', 'up{job="hookgate" == 0', 1))
    assert run(promtool, "check", "rules", broken).returncode != 0

    moved = tmp_path / "moved"
    moved.mkdir()
    text = RULES.read_text()
    assert "(hookgate_queue_lag_seconds) > 120" in text
    (moved / RULES.name).write_text(
        text.replace("(hookgate_queue_lag_seconds) > 120", "(hookgate_queue_lag_seconds) > 1200", 1)
    )
    shutil.copy(RULE_TESTS, moved / RULE_TESTS.name)
    assert run(promtool, "test", "rules", moved / RULE_TESTS.name).returncode != 0
