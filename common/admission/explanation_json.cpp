#include "common/admission/explanation_json.h"

#include <cmath>

namespace antiphase::admission {

nlohmann::json to_json(const Decision& d) {
  nlohmann::json j = {
      {"accept", d.accept},
      {"function", d.function},
      {"instances", d.instances},
      {"binding_slot", d.binding_slot ? nlohmann::json(*d.binding_slot) : nlohmann::json(nullptr)},
      {"binding_window", d.binding_window},
      {"projected_peak_cores", d.projected_peak_cores},
      {"capacity_cores", d.capacity_cores},
      {"limit_cores", d.limit_cores},
      {"headroom_cores", d.headroom_cores},
      {"projected_overload_rate", d.projected_overload_rate},
      {"target_overload_rate", d.target_overload_rate},
      // "used" kept for clients written before "comovement" existed: the cross term's ρ.
      {"correlation", {{"rho", d.correlation}, {"bound", d.correlation_bound}, {"used", d.comovement}}},
      {"comovement", {{"rho", d.comovement}, {"source", d.comovement_source}}},
      {"sizing", d.sizing},
      {"peak_sum_cores", d.peak_sum_cores},
      {"anticorrelation_saving_cores", d.anticorrelation_saving_cores},
      {"peaks_fit_cores", std::isfinite(d.peaks_fit_cores) ? nlohmann::json(d.peaks_fit_cores) : nlohmann::json(nullptr)},
      {"accepted_because_peaks_fit", d.accepted_because_peaks_fit},
      {"lumps_cores", std::isfinite(d.lumps_cores) ? nlohmann::json(d.lumps_cores) : nlohmann::json(nullptr)},
      {"measured_overload_rate", d.measured_overload_rate},
      {"confidence", d.confidence},
      {"z", d.z},
      {"reasons", d.reasons},
  };
  return j;
}

}  // namespace antiphase::admission
