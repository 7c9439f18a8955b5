#!/usr/bin/env bash
# The add-on's entry point: read the options, import the home from Home Assistant's registries (entities exposed
# to Assist), then serve the model over Wyoming on port 10300 until the Supervisor stops the add-on. The variables
# below default to the add-on's paths; tests/test_deploy.py points them at a test home and model.
set -euo pipefail
OPTIONS="${OPTIONS:-/data/options.json}"
STORAGE="${STORAGE:-/homeassistant/.storage}"
DATA="${DATA:-/data}"
SCENIC="${SCENIC:-/opt/scenic/bin/scenic}"
PORT="${PORT:-10300}"  # the port config.yaml publishes
opt() { python3 -c 'import json, sys; v = json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$OPTIONS" "$1"; }

MODEL="$(opt model)"
HOME_YAML="$(opt home)"
SATELLITES=()
if [ "$(opt import_home)" = "true" ]; then
    HOME_YAML="$DATA/home.yaml"
    "$SCENIC" home import --from-storage "$STORAGE" --out "$HOME_YAML" --satellites "$DATA/satellites.yaml" --force
    SATELLITES=(--satellites "$DATA/satellites.yaml")
fi
exec "$SCENIC" serve --wyoming "tcp://0.0.0.0:$PORT" --model "$MODEL" --home "$HOME_YAML" "${SATELLITES[@]}" \
    --log-level "$(opt log_level)"
