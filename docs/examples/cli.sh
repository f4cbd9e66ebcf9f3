#!/bin/sh
# docs/cli.md: validate a bundle, run a turn, look at the instance it left under the state root.
set -e
effect-swarm validate test/fixtures/bundles/cli
effect-swarm send helper@docs "greet Ada" --dir test/fixtures/bundles/cli
effect-swarm send helper@docs "greet Ada" --dir test/fixtures/bundles/cli --json
effect-swarm instances list
effect-swarm events helper@docs
