"""`scenic pipeline RECIPE.yaml`: data -> train -> compress -> export -> evaluate -> profile from one recipe.

`load_recipe(path, overrides)` validates the whole recipe before any work; `run_pipeline(config)` runs it, skipping
every stage that is complete for the same inputs and config (OUT/pipeline_state.json), and ends with the results.
"""

from scenic.pipeline.config import STAGE_DIRS, STAGES, PipelineConfig, load_recipe, pipeline_config
from scenic.pipeline.run import PipelineResult, run_pipeline, summarize
from scenic.pipeline.state import STATE_FILE

__all__ = ["STAGES", "STAGE_DIRS", "STATE_FILE", "PipelineConfig", "PipelineResult", "load_recipe",
           "pipeline_config", "run_pipeline", "summarize"]
