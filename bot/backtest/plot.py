"""Charts of a backtest: PNG through matplotlib's Agg backend (no display needed).

Four panels over time: the hedged and unhedged book values, the short held per instrument, the
cumulative fees and net funding, and each margin wallet's equity against what its short
requires at the minimum liquidation distance (USD; ticks with a margin shortfall shaded). A file
name ending in ``.html`` gets a small page with the same chart embedded and the run's figures
beside it.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.backtest.result_json import to_json
from bot.backtest.result_types import BacktestResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

MAX_POINTS = 5000  # more ticks than this are thinned evenly for drawing


def write_plot(result: BacktestResult, path: Path) -> None:
    """PNG at ``path`` (or, for ``.html``, a page embedding it)."""
    png = render_png(result)
    if path.suffix.lower() in (".html", ".htm"):
        path.write_text(_page(result, png), encoding="utf-8")
    else:
        path.write_bytes(png)


def render_png(result: BacktestResult) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    series = result.series
    keep = np.unique(np.linspace(0, series.times.size - 1, MAX_POINTS).astype(np.int64))
    when = series.times[keep].astype("datetime64[s]")
    figure, (values, shorts, costs, margin) = plt.subplots(4, 1, figsize=(11, 12), sharex=True)
    values.plot(when, series.unhedged[keep], label="unhedged", color="tab:red", linewidth=1)
    values.plot(when, series.hedged[keep], label="hedged", color="tab:blue", linewidth=1)
    values.set_ylabel("book value (USD)")
    eff = "-" if result.effectiveness is None else f"{result.effectiveness:.4f}"
    ceiling = "-" if result.ceiling is None else f"{result.ceiling:.4f}"
    values.set_title(
        f"{result.name}: effectiveness {eff}, ceiling {ceiling}, band {result.band or 'fee-aware'}"
    )
    values.legend(loc="upper left")
    for symbol, face in sorted(series.shorts.items()):
        shorts.plot(when, face[keep], label=symbol, linewidth=1)
    shorts.set_ylabel("short held (USD face)")
    if series.shorts:
        shorts.legend(loc="upper left")
    costs.plot(when, series.funding[keep], label="funding (net, received > 0)", color="tab:green")
    costs.plot(when, -series.fees[keep], label="fees (paid, negative)", color="tab:orange")
    costs.axhline(0, color="grey", linewidth=0.5)
    costs.set_ylabel("cumulative USD")
    costs.legend(loc="upper left")
    _margin_panel(margin, result, when, keep)
    for axis in (values, shorts, costs, margin):
        axis.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def _margin_panel(axis: Axes, result: BacktestResult, when: Any, keep: Any) -> None:
    """Equity (solid) and requirement (dashed) per margin coin; shortfall ticks shaded."""
    series = result.series
    for coin in sorted(series.margin_equity):
        (line,) = axis.plot(
            when, series.margin_equity[coin][keep], label=f"{coin} equity", linewidth=1
        )
        axis.plot(
            when,
            series.margin_required[coin][keep],
            label=f"{coin} required",
            linewidth=1,
            linestyle="--",
            color=line.get_color(),
        )
    if series.shortfall.size and series.shortfall.any():
        axis.fill_between(
            when,
            0,
            1,
            where=series.shortfall[keep],
            transform=axis.get_xaxis_transform(),
            color="tab:red",
            alpha=0.12,
            label="margin shortfall",
        )
    axis.set_ylabel("margin (USD)")
    if series.margin_equity:
        axis.legend(loc="upper left")
    else:
        axis.text(0.5, 0.5, "no coin-margined short", transform=axis.transAxes, ha="center")


def _page(result: BacktestResult, png: bytes) -> str:
    image = base64.b64encode(png).decode("ascii")
    figures = html.escape(json.dumps(to_json(result), indent=2))
    title = html.escape(f"hedgebot backtest {result.name}")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><img alt='charts' src='data:image/png;base64,{image}'>"
        f"<pre>{figures}</pre></body></html>\n"
    )
