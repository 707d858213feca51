# shellcheck shell=bash
# The documented replay windows, sourced by the scripts in this folder.
# PlanetLab: learn on 2011-04-11, judge on 04-12, 8-core hosts; four validation pairs
# from the earlier dates (learn one day, judge a later one; see docs/replay.md).
# shellcheck disable=SC2034,SC2054  # used by the sourcing scripts; commas are inside option values
planetlab_window=(--capacity 8 --train-start 2011-04-11 --train-end 2011-04-12 --test-start 2011-04-12 --test-end 2011-04-13
  --val-pair 2011-04-09,2011-04-10,2011-04-11,2011-04-12 --val-pair 2011-04-03,2011-04-04,2011-04-09,2011-04-10
  --val-pair 2011-03-25,2011-03-26,2011-04-03,2011-04-04 --val-pair 2011-03-22,2011-03-23,2011-03-25,2011-03-26)
# Bitbrains 2013-07: 21 days train, 7 days test, 16-core hosts (validation: last third of training).
bitbrains_window=(--capacity 16 --train-days 21 --test-days 7)
