#include "agent/replay/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace antiphase::replay {
namespace {

constexpr double kW = 760, kH = 440, kLeft = 70, kRight = 170, kTop = 40, kBottom = 50;
const char* kColours[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f",
                          "#e377c2", "#bcbd22", "#17becf", "#ff7f0e"};

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

struct Axes {
  double x0, x1, y0, y1;
  double px(double x) const { return kLeft + (x - x0) / (x1 - x0) * (kW - kLeft - kRight); }
  double py(double y) const { return kH - kBottom - (y - y0) / (y1 - y0) * (kH - kTop - kBottom); }
};

void frame(std::ostringstream& s, const Axes& a, const std::string& title, const std::string& xl,
           const std::string& yl) {
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << kW << "' height='" << kH
    << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' fill='white'/>\n";
  s << "<text x='" << kW / 2 << "' y='20' text-anchor='middle' font-size='14'>" << escape(title) << "</text>\n";
  s << "<rect x='" << kLeft << "' y='" << kTop << "' width='" << kW - kLeft - kRight << "' height='"
    << kH - kTop - kBottom << "' fill='none' stroke='black'/>\n";
  for (int i = 0; i <= 5; ++i) {
    const double x = a.x0 + (a.x1 - a.x0) * i / 5, y = a.y0 + (a.y1 - a.y0) * i / 5;
    s << "<text x='" << a.px(x) << "' y='" << kH - kBottom + 16 << "' text-anchor='middle'>" << fmt(x) << "</text>\n";
    s << "<text x='" << kLeft - 6 << "' y='" << a.py(y) + 4 << "' text-anchor='end'>" << fmt(y) << "</text>\n";
  }
  s << "<text x='" << (kLeft + kW - kRight) / 2 << "' y='" << kH - 12 << "' text-anchor='middle'>" << escape(xl)
    << "</text>\n";
  s << "<text x='16' y='" << kH / 2 << "' text-anchor='middle' transform='rotate(-90 16 " << kH / 2 << ")'>"
    << escape(yl) << "</text>\n";
}

}  // namespace

std::string tradeoff_svg(const std::vector<PolicyReport>& reports, double target) {
  double xmin = INFINITY, xmax = -INFINITY, ymax = target * 100 * 2;
  // Very careful knobs (e.g. mean-sum at 5 % utilisation) would squash the interesting
  // part of the chart: show up to 1.5× the largest chosen placement.
  double xcap = 0;
  for (const PolicyReport& r : reports) xcap = std::max(xcap, 1.5 * static_cast<double>(r.test.hosts));
  auto shown = [&](const KnobResult& k) { return k.test && static_cast<double>(k.test->hosts) <= xcap; };
  for (const PolicyReport& r : reports)
    for (const KnobResult& k : r.sweep)
      if (shown(k)) {
        xmin = std::min(xmin, static_cast<double>(k.test->hosts));
        xmax = std::max(xmax, static_cast<double>(k.test->hosts));
        ymax = std::max(ymax, k.test->overload_rate * 100);
      }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1;
  if (xmax <= xmin) xmax = xmin + 1;
  ymax = std::min(ymax, 5.0);  // beyond 5 % nobody cares about the exact figure
  const Axes a{std::floor(xmin) - 1, std::ceil(xmax) + 1, 0, ymax};
  std::ostringstream s;
  frame(s, a, "Hosts used vs overload rate on the test window (each policy across its knob)", "hosts used",
        "overloaded host-steps (%)");
  s << "<line x1='" << kLeft << "' x2='" << kW - kRight << "' y1='" << a.py(target * 100) << "' y2='"
    << a.py(target * 100) << "' stroke='black' stroke-dasharray='4 3'/>\n";
  for (size_t i = 0; i < reports.size(); ++i) {
    const char* colour = kColours[i % 10];
    std::string points;
    for (const KnobResult& k : reports[i].sweep)
      if (shown(k))
        points += fmt(a.px(static_cast<double>(k.test->hosts))) + "," +
                  fmt(a.py(std::min(ymax, k.test->overload_rate * 100))) + " ";
    s << "<polyline fill='none' stroke='" << colour << "' stroke-width='1.5' points='" << points << "'/>\n";
    const Outcome& t = reports[i].test;
    s << "<circle cx='" << a.px(static_cast<double>(t.hosts)) << "' cy='" << a.py(std::min(ymax, t.overload_rate * 100))
      << "' r='5' fill='none' stroke='" << colour << "' stroke-width='2'/>\n";
    s << "<text x='" << kW - kRight + 10 << "' y='" << kTop + 16 + 18 * i << "' fill='" << colour << "'>"
      << escape(to_string(reports[i].kind)) << " (" << t.hosts << " hosts)</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

std::string host_load_svg(const Workload& w, const std::vector<size_t>& tenants, double capacity,
                          const std::string& title) {
  const size_t steps = w.eval_steps();
  std::vector<double> base(steps, 0.0);
  double ymax = capacity * 1.1;
  std::vector<std::vector<double>> tops;
  for (size_t fn : tenants) {
    std::vector<double> top(steps);
    for (size_t i = 0; i < steps; ++i) top[i] = base[i] + w.eval[fn][i];
    for (double v : top) ymax = std::max(ymax, v);
    tops.push_back(top);
    base = top;
  }
  const Axes a{0, std::max<double>(1.0, static_cast<double>(steps) * w.eval_grid.step_s / 3600.0), 0, ymax};
  std::ostringstream s;
  frame(s, a, title, "hours into the test window", "cores");
  std::vector<double> below(steps, 0.0);
  const double dt = w.eval_grid.step_s / 3600.0;
  for (size_t k = 0; k < tops.size(); ++k) {
    std::string pts;
    for (size_t i = 0; i < steps; ++i) pts += fmt(a.px(i * dt)) + "," + fmt(a.py(tops[k][i])) + " ";
    for (size_t i = steps; i-- > 0;) pts += fmt(a.px(i * dt)) + "," + fmt(a.py(below[i])) + " ";
    s << "<polygon stroke='none' fill-opacity='0.8' fill='" << kColours[k % 10] << "' points='" << pts << "'/>\n";
    below = tops[k];
  }
  s << "<line x1='" << kLeft << "' x2='" << kW - kRight << "' y1='" << a.py(capacity) << "' y2='" << a.py(capacity)
    << "' stroke='black' stroke-width='2'/>\n";
  s << "<text x='" << kW - kRight + 10 << "' y='" << a.py(capacity) + 4 << "'>capacity " << fmt(capacity)
    << "</text>\n";
  s << "<text x='" << kW - kRight + 10 << "' y='" << kTop + 16 << "'>" << tenants.size() << " tenants</text>\n";
  s << "</svg>\n";
  return s.str();
}

}  // namespace antiphase::replay
