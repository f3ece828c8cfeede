"""What a run did, in one offline HTML page: ``motion-r1 view RUN_DIR`` (see :mod:`.page`)."""

from motion_r1_verl.view.page import ViewConfig, write_view

__all__ = ["ViewConfig", "write_view"]
