from __future__ import annotations

import pytest

from docket_core.errors import InputError
from docket_core.names import check_id, normalize_name


class TestIds:
    @pytest.mark.parametrize("value", ["a", "batch-1_x", "0" * 64])
    def test_valid_ids_pass(self, value: str) -> None:
        assert check_id(value) == value

    @pytest.mark.parametrize("value", ["", "Upper", "with space", "a/b", "x" * 65, "dot.ted"])
    def test_invalid_ids_say_the_rule_and_what_was_got(self, value: str) -> None:
        with pytest.raises(InputError, match=r"batch id must match \^\[a-z0-9_-\]\{1,64\}\$.*got"):
            check_id(value)


class TestNames:
    def test_relative_paths_are_kept_as_posix(self) -> None:
        assert normalize_name("a\\b/./c.jpg") == "a/b/c.jpg"

    @pytest.mark.parametrize("name", ["../x.jpg", "a/../../x", "/etc/passwd", "C:/x.jpg", "a\x00b", "", "./"])
    def test_names_that_could_escape_a_folder_are_refused(self, name: str) -> None:
        with pytest.raises(InputError):
            normalize_name(name)
