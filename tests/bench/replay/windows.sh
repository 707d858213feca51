# shellcheck shell=bash
# The documented replay windows, sourced by the scripts in this folder.
# PlanetLab: learn on 2011-04-11, judge on 04-12, 8-core hosts; four validation pairs
# from the earlier dates (learn one day, judge a later one; see docs/replay.md).
# shellcheck disable=SC2034,SC2054  # used by the sourcing scripts; commas are inside option values
planetlab_window=(--capacity 8 --train-start 2011-04-11 --train-end 2011-04-12 --test-start 2011-04-12 --test-end 2011-04-13
  --val-pair 2011-04-09,2011-04-10,2011-04-11,2011-04-12 --val-pair 2011-04-03,2011-04-04,2011-04-09,2011-04-10
  --val-pair 2011-03-25,2011-03-26,2011-04-03,2011-04-04 --val-pair 2011-03-22,2011-03-23,2011-03-25,2011-03-26)
# Bitbrains 2013-07: 21 days train, 7 days test, 16-core hosts. Two validation folds inside
# the training window: learn 06-30 -> 07-07, judge 07-07 -> 07-14 (idle batch VMs change
# regime together in it) and learn 06-30 -> 07-14, judge 07-14 -> 07-21 (a calm week).
# One calm fold alone chose knobs that overloaded the test week (docs/benchmarks/replay.md).
bitbrains_window=(--capacity 16 --train-start 2013-06-30 --train-end 2013-07-21 --test-start 2013-07-21 --test-end 2013-07-28
  --val-pair 2013-06-30,2013-07-07,2013-07-07,2013-07-14 --val-pair 2013-06-30,2013-07-14,2013-07-14,2013-07-21)
