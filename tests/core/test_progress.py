"""The progress helper: a bar redrawn in place on a terminal, throttled log lines otherwise,
and log lines written above a live bar."""

from __future__ import annotations

import io
import logging
import threading

from tamales_inc.core import progress as progress_module
from tamales_inc.core.progress import Progress, ProgressAwareHandler


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _logger(name: str, stream: io.StringIO) -> logging.Logger:
    logger = logging.getLogger(f"tests.progress.{name}")
    logger.handlers[:] = []
    handler = ProgressAwareHandler(stream)
    handler.setFormatter(logging.Formatter("cmd: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def test_bar_on_a_terminal_redraws_in_place_and_keeps_log_lines_above_it() -> None:
    stream = Terminal()
    logger = _logger("bar", stream)
    progress_module.set_prefix("cmd: ")
    with Progress("dbt build", total=4, unit="nodes", logger=logger, stream=stream) as bar:
        bar.advance(2)
        bar.redraw()  # the next draw would be throttled; force one to see the count
        logger.info("a line meanwhile")
        bar.advance(2)
        bar.redraw()
    text = stream.getvalue()
    assert "\rcmd: dbt build [------------------------] 0/4 nodes" in text
    assert "\rcmd: dbt build [############------------] 2/4 nodes" in text
    assert "\rcmd: dbt build [########################] 4/4 nodes" in text
    # the log line starts on a cleared line and the bar is drawn again after it
    cleared_line = "\r\x1b[Kcmd: a line meanwhile\n\rcmd: dbt build [############"
    assert cleared_line in text
    assert text.endswith("\r\x1b[K")  # closing clears the bar
    assert "\n" not in text.replace("cmd: a line meanwhile\n", "")


def test_plain_lines_off_a_terminal_are_throttled(caplog) -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.progress.plain")
    with caplog.at_level(logging.INFO, logger=logger.name):
        with Progress("dbt build", unit="nodes", logger=logger, stream=stream, every=0.0) as dbt:
            dbt.refresh()  # still planning: the time moves, the count is unknown
        with Progress("backtest", 30, "fits", logger=logger, stream=stream, every=0.0) as fits:
            for _ in range(3):
                fits.advance()
        with Progress("backtest", 30, "fits", logger=logger, stream=stream, every=3600) as slow:
            for _ in range(30):
                slow.advance()
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split(",")[0] for line in lines] == [
        "dbt build: 0/? nodes",
        "backtest: 1/30 fits",
        "backtest: 2/30 fits",
        "backtest: 3/30 fits",
    ]
    assert stream.getvalue() == ""  # no bar off a terminal


def test_quiet_shows_nothing_and_threads_count_exactly(caplog) -> None:
    stream = Terminal()
    logger = logging.getLogger("tests.progress.quiet")
    logger.setLevel(logging.WARNING)
    with Progress("dbt build", logger=logger, stream=stream, every=0.0) as nodes:
        workers = [threading.Thread(target=lambda: [nodes.advance() for _ in range(500)])]
        workers.append(threading.Thread(target=lambda: [nodes.advance() for _ in range(500)]))
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        nodes.set_total(1000)
    assert nodes.done == 1000 and nodes.line().startswith("dbt build: 1,000/1,000, ")
    assert stream.getvalue() == "" and caplog.records == []
