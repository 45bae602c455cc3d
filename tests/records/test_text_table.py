"""Tables as lines of text: widths in cells (a hanzi two, ASCII one), columns that line up,
and a last column that wraps under itself."""

from __future__ import annotations

from consent_service.records.text_table import cells, text_table, wrap


def test_a_hanzi_takes_two_cells_and_ascii_one():
    assert cells("grant") == 5
    assert cells("同意 grant") == 10
    assert cells("（ＡＢ）") == 8  # full-width forms
    assert cells("é") == 1
    assert cells("") == 0


def test_the_columns_line_up_whatever_their_script():
    table = text_table(
        [("序号", "目的", "行为"), ("No.", "Purpose", "Act")],
        [("1", "营销短信 Marketing", "同意 grant"), ("12", "marketing", "撤回 withdraw")],
        right={0},
    )
    head, lines = table["head"], table["lines"]
    assert head == ["序号  目的                行为", " No.  Purpose             Act"]
    assert lines == ["   1  营销短信 Marketing  同意 grant", "  12  marketing           撤回 withdraw"]
    # Every line's third column starts at the same cell.
    third = zip(head + lines, ["行为", "Act", "同意", "撤回"], strict=True)
    assert {cells(line[: line.index(word)]) for line, word in third} == {26}


def test_a_row_too_wide_goes_on_under_its_last_column():
    table = text_table([("No.", "Purpose")], [("1", "one two three four five six seven")], width=25)
    assert table["lines"] == ["1    one two three four", "     five six seven"]
    assert all(cells(line) <= 25 for line in table["lines"])
    assert text_table([("No.", "Purpose")], [("1", "short")], width=25)["lines"] == ["1    short"]


def test_wrapping_breaks_at_spaces_and_between_hanzi_and_cuts_a_long_word():
    assert wrap("账号注册与登录 Account", 6) == ["账号注", "册与登", "录", "Accoun", "t"]
    assert wrap("a  b", 10) == ["a  b"]
    assert wrap("", 5) == [""]
    assert wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]
