"""What a run and a model do, in the browser: ``motion-r1 view RUN_DIR`` writes one offline HTML page of a run
(:mod:`.page`); ``motion-r1 demo --model DIR`` serves a local Gradio demo of a model (:mod:`.demo`, imported on
its own: Gradio is the ``demo`` extra). Both draw motions with :func:`.skeleton.motion_figure`."""

from motion_r1_verl.view.page import ViewConfig, write_view

__all__ = ["ViewConfig", "write_view"]
