#!/usr/bin/env bash
# The daemon is a thin OS layer: every admission rule lives in the node core
# (common/node) and common/admission. Fails when agent/daemon reaches past the core
# into the policy, the calibrator or the ranking.
set -u
src=${1:?source dir}
status=0
if hits=$(grep -nE 'common/admission/(policy|rank|margin_calibrator|spread_pooling)\.h|AdmissionPolicy|MarginCalibrator\(|rank_decisions|rank_candidates|rank_hosts|\.decide\(' \
    "$src"/agent/daemon/*.cpp "$src"/agent/daemon/*.h); then
  echo "agent/daemon calls the admission rule directly (use node::NodeCore):"
  echo "$hits"
  status=1
fi
[ $status = 0 ] && echo "agent/daemon decides only through the node core"
exit $status
