#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/genome.h"
#include "cost/cost_model.h"
#include "data/dataset.h"
#include "device/profile.h"
#include "eval/host_latency.h"
#include "report/architecture_svg.h"
#include "report/charts.h"
#include "report/chip_panels.h"
#include "report/html.h"
#include "train/checkpoint.h"
#include "train/config.h"

namespace dalnas::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string f(double v, int prec = 4) {
  if (!std::isfinite(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

double jnum(const json& j, const std::string& key) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_number()) return std::nan("");
  return j.at(key).get<double>();
}

// j[k1][k2]... as a number (NaN when any step is missing).
double jpath(const json& j, std::initializer_list<const char*> keys) {
  const json* p = &j;
  for (const char* k : keys) {
    if (!p->is_object() || !p->contains(k)) return std::nan("");
    p = &p->at(k);
  }
  return p->is_number() ? p->get<double>() : std::nan("");
}

std::string jstr(const json& j, const std::string& key) {
  return j.is_object() && j.contains(key) && j.at(key).is_string() ? j.at(key).get<std::string>()
                                                                   : std::string();
}

std::pair<double, double> mean_sd(const std::vector<double>& v) {
  std::vector<double> x;
  for (double d : v)
    if (std::isfinite(d)) x.push_back(d);
  if (x.empty()) return {std::nan(""), std::nan("")};
  double m = 0;
  for (double d : x) m += d;
  m /= static_cast<double>(x.size());
  if (x.size() < 2) return {m, std::nan("")};
  double s = 0;
  for (double d : x) s += (d - m) * (d - m);
  return {m, std::sqrt(s / static_cast<double>(x.size() - 1))};
}

struct Builder {
  const RunFolder& run;
  const ReportOptions& opt;
  std::vector<std::string>* notes;
  std::vector<Section> sections;
  std::vector<Chart> charts;

  std::string missing(const std::string& section, const std::string& what) {
    if (notes) notes->push_back(section + ": " + what);
    return "<p class=\"missing\">" + escape_html(what) + "</p>\n";
  }
  std::string add_chart(Chart c) {
    const std::string html = chart_canvas(c);
    charts.push_back(std::move(c));
    return html;
  }
  void section(const std::string& id, const std::string& title, const std::string& body) {
    sections.push_back({id, title, body});
  }

  // --- shared pieces -----------------------------------------------------------------
  std::string kv_table(const std::vector<std::pair<std::string, std::string>>& rows) {
    std::vector<std::vector<std::string>> r;
    for (const auto& [k, v] : rows) r.push_back({escape_html(k), escape_html(v)});
    return html_table({"", ""}, r);
  }

  // The genome's per-layer costs on `device` at bands × h × w, and its block diagram.
  void genome_sections(const std::string& genome, int bands, const std::string& device, int h,
                       int w, const std::string& who) {
    const std::string title_cost = who + ": per-layer latency and memory (cost model)";
    const std::string title_arch = who + ": architecture";
    if (genome.empty()) {
      section("costs", title_cost, missing(title_cost, "no genome recorded in this run folder"));
      section("architecture", title_arch,
              missing(title_arch, "no genome recorded in this run folder"));
      return;
    }
    Genome g;
    try {
      g = Genome::parse(genome);
    } catch (const std::exception& e) {
      section("costs", title_cost, missing(title_cost, std::string("genome: ") + e.what()));
      section("architecture", title_arch, missing(title_arch, std::string("genome: ") + e.what()));
      return;
    }
    std::string body = "<p>Genome <code>" + escape_html(g.str()) + "</code> on <b>" +
                       escape_html(device) + "</b> at " + std::to_string(bands) + " × " +
                       std::to_string(h) + " × " + std::to_string(w) +
                       " (the cost model of the profile, as <code>dalnas profile</code> "
                       "prints it).</p>\n";
    try {
      const DeviceProfile p = load_profile(device);
      const CostModel model = load_cost_model(p);
      const DeviceGraph graph = genome_graph(g, bands, h, w);
      const CostEstimate e = model.estimate(graph);
      body +=
          kv_table({{"cost model", to_string(model.kind)},
                    {"latency (ms)", f(e.latency_ms, 3)},
                    {"FPS", f(e.fps, 1)},
                    {"on the device (ms)", f(e.device_ms, 3)},
                    {"host link transfer (ms)", f(e.transfer_ms, 3)},
                    {"peak memory (KiB)", f(static_cast<double>(e.peak_memory_bytes) / 1024, 1)},
                    {"weights (KiB)", f(static_cast<double>(e.weight_bytes) / 1024, 1)},
                    {"energy (mJ)", f(e.energy_mj, 3)},
                    {"layers measured (LUT)", std::to_string(e.measured_layers)}});
      std::vector<std::string> names;
      // What a layer's bytes are: FP16 tensors on the Myriad model, each node at its
      // resolved precision's widths on the integer one.
      const std::string bytes_label =
          model.kind == CostModel::Kind::Analytic  ? "FP16 bytes read and written (KiB)"
          : model.kind == CostModel::Kind::Integer ? "bytes read and written, each layer at "
                                                     "its precision (KiB)"
                                                   : "bytes read and written (KiB)";
      BarSeries us{"time (µs)", {}, {}}, kib{bytes_label, {}, {}};
      std::vector<std::vector<std::string>> rows;
      for (const auto& l : e.layers) {
        if (l.placement == Engine::None && l.us == 0) continue;  // input / output
        names.push_back(l.name);
        us.mean.push_back(l.us);
        kib.mean.push_back(static_cast<double>(l.bytes) / 1024.0);
        rows.push_back({escape_html(l.name), escape_html(to_string(l.op)),
                        escape_html(to_string(l.placement)), std::to_string(l.macs),
                        f(static_cast<double>(l.bytes) / 1024.0, 1), l.dram ? "yes" : "no",
                        f(l.us, 1), f(100 * l.share, 1), l.measured ? "LUT" : "estimate"});
      }
      body += add_chart(bars_chart("chart-layer-time", names, {us}, "time per layer (µs)", true));
      body += add_chart(
          bars_chart("chart-layer-bytes", names, {kib}, "memory traffic per layer (KiB)", true));
      body +=
          html_table({"layer", "op", "engine", "MACs", "KiB", "DRAM", "µs", "share %", "source"},
                     rows, true, "layers-table");
    } catch (const std::exception& ex) {
      body += missing(title_cost, std::string("cost model: ") + ex.what());
    }
    section("costs", title_cost, body);
    section("architecture", title_arch,
            "<p>Encoder stages (blue), bottleneck (orange), decoder levels (green), head "
            "(pink); dashed arrows are skips.</p>\n" +
                architecture_svg(g, bands));
  }

  // Image panels of test chips; `models` as report/chip_panels.h. `why_short`: a note on
  // columns that the run folder cannot give (empty: none).
  void panels_section(const json& train_cfg, const std::vector<std::string>& test_names,
                      const std::vector<PanelModel>& models, const std::string& why_short) {
    const std::string title = "Image panels: test chips with vessels";
    std::string body;
    if (!why_short.empty()) body += missing(title, why_short);
    if (!opt.panels) {
      section("panels", title, body + missing(title, "image panels switched off"));
      return;
    }
    if (models.empty()) {
      section("panels", title,
              body + missing(title, "no checkpoint in this run folder to predict with"));
      return;
    }
    if (!train_cfg.is_object() || !train_cfg.contains("data")) {
      section("panels", title, body + missing(title, "the run folder does not record its data"));
      return;
    }
    try {
      json dj = json::object();
      for (const char* k : {"data", "synthetic"})
        if (train_cfg.contains(k)) dj[k] = train_cfg[k];
      const TrainConfig tc = TrainConfig::from_json(dj, run.config_source);
      if (tc.data != "synthetic" && tc.data.rfind("synthetic:", 0) != 0 && !fs::exists(tc.data)) {
        section("panels", title,
                body + missing(title, "the data of this run (" + tc.data +
                                          ") is not here (relative paths are read from the "
                                          "current folder)"));
        return;
      }
      const std::vector<Scene> scenes = load_dataset(tc.data, tc.synthetic);
      std::vector<int> test;
      for (size_t i = 0; i < scenes.size(); ++i)
        if (std::find(test_names.begin(), test_names.end(), scenes[i].name) != test_names.end())
          test.push_back(static_cast<int>(i));
      if (test.empty()) {
        section("panels", title,
                body + missing(title, "none of the run's test scenes is in " + tc.data));
        return;
      }
      const auto panels = make_chip_panels(scenes, test, models, opt.max_chips, opt.chip_size);
      if (panels.empty()) {
        section("panels", title, body + missing(title, "no test scene has a vessel"));
        return;
      }
      body +=
          "<p>Prediction colours: <span style=\"background:#000;color:#fff\">&nbsp;true "
          "positive white&nbsp;</span> <span style=\"color:rgb(230,40,40)\">false positive "
          "red</span>, <span style=\"color:rgb(30,150,255)\">false negative blue</span>, "
          "background black. Each model predicts the chip alone (one tile).</p>\n";
      for (const auto& p : panels) {
        body += "<div class=\"chip\"><p><b>" + escape_html(p.scene) + "</b> rows " +
                std::to_string(p.y0) + "–" + std::to_string(p.y0 + p.size - 1) + ", columns " +
                std::to_string(p.x0) + "–" + std::to_string(p.x0 + p.size - 1) + ": " +
                std::to_string(p.vessels) + " vessel(s), the smallest " +
                std::to_string(p.smallest_px) + " px</p>\n";
        for (size_t k = 0; k < p.columns.size(); ++k) {
          const auto& c = p.columns[k];
          std::string caption = escape_html(c.title);
          if (k >= 2)
            caption += "<br>IoU vessel " + f(c.iou_vessel, 3) + ", FP " + std::to_string(c.fp) +
                       ", FN " + std::to_string(c.fn);
          body += "<div class=\"panel\"><img alt=\"" + escape_html(c.title) + "\" src=\"" +
                  data_uri("image/png", c.png) + "\"><br>" + caption + "</div>";
        }
        body += "</div>\n";
      }
    } catch (const std::exception& e) {
      body += missing(title, e.what());
    }
    section("panels", title, body);
  }

  void objects_section(const std::vector<std::string>& names, const std::vector<json>& objects,
                       const std::string& note) {
    const std::string title = "Object-level metrics";
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < names.size(); ++i) {
      const json& o = objects[i];
      if (!o.is_object()) {
        rows.push_back({escape_html(names[i]), "not recorded", "", "", "", "", "", ""});
        continue;
      }
      rows.push_back({escape_html(names[i]), f(jnum(o, "recall"), 3), f(jnum(o, "precision"), 3),
                      f(jnum(o, "fragmentation"), 3), f(jnum(o, "boundary_f1"), 3),
                      f(jpath(o, {"by_size", "small", "recall"}), 3),
                      f(jpath(o, {"by_size", "medium", "recall"}), 3),
                      f(jpath(o, {"by_size", "large", "recall"}), 3)});
    }
    std::string body =
        "<p>Vessel-level recall and precision by 8-connected components (found: a predicted "
        "component with IoU ≥ 0.3 or covering the vessel's centroid), fragmentation "
        "(predicted components per found vessel), boundary F1 at 2 px, recall by vessel size "
        "(small &lt; 30 px, medium 30–100 px, large &gt; 100 px); see "
        "src/train/object_metrics.h. " +
        escape_html(note) + "</p>\n";
    bool any = false;
    for (const auto& o : objects) any = any || o.is_object();
    if (!any) body += missing(title, "no object-level metrics in this run folder (older run)");
    body += html_table({"", "recall", "precision", "fragmentation", "boundary F1", "recall small",
                        "recall medium", "recall large"},
                       rows);
    section("objects", title, body);
  }

  void config_section() {
    const std::string title = "Configuration and command";
    std::string body = "<h3>Command</h3>\n";
    if (run.command.empty())
      body += missing(title,
                      "this run folder does not record its command (command.txt; runs "
                      "made before it was written)");
    else
      body += "<pre>" + escape_html(run.command) + "</pre>\n";
    body += "<h3>Resolved configuration</h3>\n";
    if (run.config_text.empty())
      body += missing(title, "no resolved configuration in this run folder");
    else
      body += "<p>From " + escape_html(run.config_source) + ":</p><pre>" +
              escape_html(run.config_text) + "</pre>\n";
    section("config", title, body);
  }

  // --- search --------------------------------------------------------------------------
  void search() {
    const json& cfg = run.config;
    const json search_cfg = cfg.is_object() && cfg.contains("search") ? cfg["search"] : json();
    const std::string device =
        jstr(search_cfg, "device").empty() ? "myriadx" : jstr(search_cfg, "device");
    int in_h = 256, in_w = 256;
    if (search_cfg.is_object() && search_cfg.contains("input_size")) {
      const auto& v = search_cfg["input_size"];
      if (v.is_array() && v.size() == 2 && v[0].is_number_integer()) {
        in_h = v[0].get<int>();
        in_w = v[1].get<int>();
      } else if (v.is_number_integer()) {
        in_h = in_w = v.get<int>();
      }
    }
    const json train_cfg = cfg.is_object() && cfg.contains("train") ? cfg["train"] : json();
    const std::string precision =
        jstr(train_cfg, "precision").empty() ? "aligned" : jstr(train_cfg, "precision");

    // The winner: best/metrics.json, else the summary's first, else the fittest row.
    std::string winner = jstr(run.best, "genome");
    double winner_id = jnum(run.best, "candidate_id");
    if (winner.empty() && run.summary.is_object() && run.summary.contains("top") &&
        run.summary["top"].is_array() && !run.summary["top"].empty()) {
      winner = jstr(run.summary["top"][0], "genome");
      winner_id = jnum(run.summary["top"][0], "candidate_id");
    }
    const CsvTable* cand = run.candidates ? &*run.candidates : nullptr;
    if (winner.empty() && cand) {
      double bestf = -INFINITY;
      for (size_t r = 0; r < cand->rows.size(); ++r) {
        const double fit = cand->number(r, "fitness");
        if (cand->get(r, "status") == "ok" &&
            (cand->column("feasible") < 0 || cand->get(r, "feasible") == "1") && fit > bestf) {
          bestf = fit;
          winner = cand->get(r, "genome");
          winner_id = cand->number(r, "candidate_id");
        }
      }
    }

    // Overview.
    {
      std::vector<std::pair<std::string, std::string>> kv = {{"run folder", run.dir},
                                                             {"kind", "search"}};
      if (run.summary.is_object()) {
        kv.push_back({"stopped", jstr(run.summary, "stop_reason")});
        kv.push_back({"evaluations", f(jnum(run.summary, "evaluations"), 0)});
        kv.push_back({"failed / rejected", f(jnum(run.summary, "failed"), 0) + " / " +
                                               f(jnum(run.summary, "rejected"), 0)});
        kv.push_back({"elapsed (s)", f(jnum(run.summary, "elapsed_s"), 1)});
      }
      kv.push_back({"device", device});
      kv.push_back({"training precision", precision});
      kv.push_back({"winner", winner.empty() ? "-" : winner});
      if (run.best.is_object()) {
        kv.push_back(
            {"winner: test mIoU on the host (FP32)", f(jpath(run.best, {"host_test", "miou"}))});
        kv.push_back(
            {"winner: test mIoU on " + device, f(jpath(run.best, {"device_test", "miou"}))});
        kv.push_back({"winner: parameters", f(jnum(run.best, "params"), 0)});
        kv.push_back({"winner: estimated latency (ms)", f(jnum(run.best, "latency_ms"), 3)});
      }
      std::string body = kv_table(kv);
      if (!run.summary.is_object())
        body += missing("Overview", "no summary.json (the search did not finish)");
      if (!run.best.is_object())
        body += missing("Overview", "no best/metrics.json (the winner was not retrained)");
      section("overview", "Overview", body);
    }

    // Pareto front.
    {
      const std::string title = "Pareto front";
      std::string body;
      if (!cand) {
        body = missing(title, "no candidates.csv in this run folder");
      } else {
        double max_params = 1;
        for (size_t r = 0; r < cand->rows.size(); ++r)
          max_params = std::max(max_params, cand->number(r, "params"));
        auto pt = [&](const CsvTable& t, size_t r) -> std::optional<Point> {
          const double x = t.number(r, "latency_ms"), y = t.number(r, "miou");
          if (t.get(r, "status") != "ok" || !std::isfinite(x) || !std::isfinite(y))
            return std::nullopt;
          const double p = t.number(r, "params");
          Point q;
          q.x = x;
          q.y = y;
          q.r = 3 + 12 * std::sqrt(std::isfinite(p) ? std::max(0.0, p) / max_params : 0.0);
          q.label = "#" + t.get(r, "candidate_id") + " " + t.get(r, "genome") + ": mIoU " +
                    f(y, 3) + ", " + f(x, 2) + " ms, " + f(p, 0) + " params";
          return q;
        };
        std::vector<Point> all, front;
        std::optional<Point> win, ref;
        Genome refg;
        const bool have_ref = named_genome("reference", refg);
        for (size_t r = 0; r < cand->rows.size(); ++r) {
          const auto q = pt(*cand, r);
          if (!q) continue;
          all.push_back(*q);
          if (std::isfinite(winner_id) && cand->number(r, "candidate_id") == winner_id) win = *q;
          if (have_ref && cand->get(r, "genome") == refg.str()) ref = *q;
        }
        if (run.pareto)
          for (size_t r = 0; r < run.pareto->rows.size(); ++r)
            if (const auto q = pt(*run.pareto, r)) front.push_back(*q);
        body +=
            "<p>Every evaluated candidate (status ok): device mIoU on the evaluation split "
            "against the estimated latency on " +
            escape_html(device) + "; marker area grows with the parameters.</p>\n";
        // A reference that was not a candidate: its estimated latency, as a line.
        double ref_ms = std::numeric_limits<double>::quiet_NaN();
        std::string ref_note;
        if (!ref && have_ref) {
          ref_note = "`reference` (" + refg.str() + ") was not among the candidates";
          try {
            const CostModel m = load_cost_model(load_profile(device));
            ref_ms = m.estimate(genome_graph(refg, 4, in_h, in_w)).latency_ms;
            ref_note += "; its estimated latency at this input size is " + f(ref_ms, 2) +
                        " ms (4 bands), the dashed line";
          } catch (const std::exception&) {
          }
        }
        if (all.empty())
          body += missing(title, "no candidate finished with a device mIoU");
        else
          body += add_chart(pareto_chart("chart-pareto", all, front, win, ref, ref_ms));
        if (!run.pareto) body += missing(title, "no pareto.csv in this run folder");
        if (!ref_note.empty()) body += "<p>" + escape_html(ref_note) + ".</p>\n";
      }
      section("pareto", title, body);
    }

    // Fitness per generation.
    {
      const std::string title = "Fitness per generation";
      std::string body;
      std::map<int, std::vector<double>> per;
      if (cand)
        for (size_t r = 0; r < cand->rows.size(); ++r) {
          const double fit = cand->number(r, "fitness"), g = cand->number(r, "generation");
          if (cand->get(r, "status") == "ok" && std::isfinite(fit) && std::isfinite(g))
            per[static_cast<int>(g)].push_back(fit);
        }
      if (per.empty()) {
        body = missing(
            title, cand ? "no candidate with a fitness" : "no candidates.csv in this run folder");
      } else {
        std::vector<int> gens;
        std::vector<double> best, med, worst;
        for (auto& [g, v] : per) {
          std::sort(v.begin(), v.end());
          gens.push_back(g);
          best.push_back(v.back());
          worst.push_back(v.front());
          const size_t n = v.size();
          med.push_back(n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
        }
        body = add_chart(generations_chart("chart-generations", gens, best, med, worst));
      }
      section("generations", title, body);
    }

    // Candidates.
    {
      const std::string title = "Candidates";
      std::string body;
      if (!cand) {
        body = missing(title, "no candidates.csv in this run folder");
      } else {
        std::vector<std::vector<std::string>> rows;
        for (size_t r = 0; r < cand->rows.size(); ++r)
          rows.push_back({escape_html(cand->get(r, "candidate_id")),
                          escape_html(cand->get(r, "generation")),
                          "<code>" + escape_html(cand->get(r, "genome")) + "</code>",
                          f(cand->number(r, "miou"), 4), f(cand->number(r, "latency_ms"), 3),
                          f(cand->number(r, "params"), 0), f(cand->number(r, "fitness"), 4),
                          escape_html(cand->get(r, "status")),
                          escape_html(cand->get(r, "feasible") == "1" ? "yes" : "no"),
                          escape_html(cand->get(r, "reason"))});
        body = "<p>Click a column header to sort.</p>\n" +
               html_table({"id", "generation", "genome", "device mIoU", "latency (ms)", "params",
                           "fitness", "status", "feasible", "reason"},
                          rows, true, "candidates-table");
      }
      section("candidates", title, body);
    }

    // The winner's costs and diagram; the bands from its checkpoint (else 4).
    int bands = 4;
    std::vector<std::string> test_names;
    std::string ck_error;
    if (!run.best_checkpoint.empty()) {
      try {
        const Checkpoint ck = load_checkpoint(run.best_checkpoint);
        bands = ck.bands;
        if (ck.config.contains("split_scenes")) {
          const auto& s = ck.config["split_scenes"];
          const auto& t =
              s.contains("test") && !s["test"].empty() ? s["test"] : s.value("val", json::array());
          for (const auto& n : t) test_names.push_back(n.get<std::string>());
        }
      } catch (const std::exception& e) {
        ck_error = e.what();
      }
    }
    genome_sections(winner, bands, device, in_h, in_w, "Winner");

    // Object-level metrics of the winner (and of its FP32 twin, converted after training).
    {
      std::vector<std::string> names;
      std::vector<json> objs;
      const json twin =
          run.best.is_object() && run.best.contains("fp32_twin") ? run.best["fp32_twin"] : json();
      for (const char* k : {"host_val", "device_val", "host_test", "device_test"}) {
        const bool host = std::string(k).find("host") == 0;
        const std::string split = std::string(k).find("test") != std::string::npos ? "test" : "val";
        names.push_back(host ? "host FP32, " + split : device + ", " + split);
        objs.push_back(run.best.is_object() && run.best.contains(k) &&
                               run.best[k].contains("objects")
                           ? run.best[k]["objects"]
                           : json());
        if (twin.is_object() && twin.contains(k) && twin[k].contains("objects")) {
          names.push_back(host ? "FP32 twin, host, " + split
                               : "FP32 twin after conversion, " + device + ", " + split);
          objs.push_back(twin[k]["objects"]);
        }
      }
      objects_section(names, objs,
                      "The winner retrained (best/metrics.json); with precision aligned also "
                      "its FP32 twin, trained in FP32 and converted after training (best/fp32/).");
    }

    // The winner over several training seeds ([evaluation] final_seeds).
    if (run.best.is_object() && run.best.contains("over_seeds")) {
      const json& s = run.best["over_seeds"];
      const auto ms = [](const json& j, const char* k) -> std::string {
        if (!j.is_object() || !j.contains(k)) return "–";
        return f(jnum(j[k], "mean"), 4) + " ± " + f(jnum(j[k], "sd"), 4);
      };
      const json twin = s.value("fp32_twin", json());
      std::vector<std::vector<std::string>> rows;
      for (const char* split : {"val", "test"}) {
        const std::string h = std::string("host_") + split, d = std::string("device_") + split;
        rows.push_back(
            {split, ms(s, h.c_str()), ms(s, d.c_str()), ms(twin, h.c_str()), ms(twin, d.c_str())});
      }
      std::string body = "<p>The winner retrained with " + std::to_string(s["seeds"].size()) +
                         " training seeds (" + escape_html(s["seeds"].dump()) +
                         "; best/ holds the first, best/seeds/ the others): mIoU, mean ± "
                         "sample sd over the seeds. Twin's conversion loss on the test "
                         "scenes " +
                         ms(s, "conversion_loss_test") + "; aligned minus twin on " +
                         escape_html(device) + " " + ms(s, "aligned_gain_test") + ".</p>\n";
      body += html_table(
          {"split", "host FP32", "trained " + escape_html(precision) + ", " + escape_html(device),
           "FP32 twin, host", "FP32 twin after conversion, " + escape_html(device)},
          rows);
      section("seeds", "The winner over seeds", body);
    }

    // The winner against a baseline retrained alike ([evaluation] baseline,
    // search/baseline.h): per seed and on average, with the cost ratios.
    if (run.summary.is_object() && run.summary.contains("baseline") &&
        run.summary["baseline"].is_object()) {
      const json& c = run.summary["baseline"];
      const std::string name = jstr(c, "baseline");
      std::vector<std::vector<std::string>> rows;
      for (const char* split : {"device_test", "device_val", "host_test", "host_val"}) {
        if (!c.contains(split) || !c[split].is_object()) continue;
        const json& s = c[split];
        const std::string where = std::string(split).rfind("device_", 0) == 0
                                      ? std::string(split).substr(7) + ", " + escape_html(device)
                                      : std::string(split).substr(5) + ", host FP32";
        std::string per_seed;
        for (const auto& d : s.value("difference", json::array()))
          per_seed += (per_seed.empty() ? "" : " ") + (d.is_number() ? f(d.get<double>(), 4) : "–");
        rows.push_back({where, f(jnum(s, "winner_mean"), 4) + " ± " + f(jnum(s, "winner_sd"), 4),
                        f(jnum(s, "baseline_mean"), 4) + " ± " + f(jnum(s, "baseline_sd"), 4),
                        per_seed,
                        f(jnum(s, "difference_mean"), 4) + " ± " + f(jnum(s, "difference_sd"), 4),
                        f(jnum(s, "seeds_above"), 0) + " of " +
                            std::to_string(c.value("seeds", json::array()).size()),
                        f(jnum(s, "p_above"), 3)});
      }
      const json lat = c.value("latency_ms", json::object()),
                 par = c.value("params", json::object());
      section("baseline", "Against the baseline",
              "<p>The winner and " + escape_html(name) + " (" + escape_html(jstr(c, "genome")) +
                  ") retrained with the same recipe, seeds " +
                  escape_html(c.value("seeds", json::array()).dump()) +
                  " and scenes (baseline/): mIoU, mean ± sample sd over the seeds, the "
                  "winner's minus the baseline's per seed, and the one-sided exact paired "
                  "permutation p that a mean difference this large is the seeds' chance. "
                  "Latency on " +
                  escape_html(device) + " " + f(jnum(lat, "winner"), 2) + " ms against " +
                  f(jnum(lat, "baseline"), 2) + " ms (" + f(jnum(lat, "ratio"), 2) +
                  "×); parameters " + f(jnum(par, "winner"), 0) + " against " +
                  f(jnum(par, "baseline"), 0) + " (" + f(jnum(par, "ratio"), 2) + "×).</p>\n" +
                  html_table({"split", "winner", escape_html(name), "difference per seed",
                              "difference", "seeds above", "p"},
                             rows));
    }

    // The search's best few re-scored on cross-validation folds ([evaluation]
    // rescore_candidates, search/rescore.h), in their re-scored order.
    if (run.summary.is_object() && run.summary.contains("rescore") &&
        run.summary["rescore"].is_array()) {
      std::vector<std::pair<double, std::vector<std::string>>> ranked;
      for (const auto& r : run.summary["rescore"]) {
        std::string per_fold;
        for (const auto& v : r.value("fold_miou", json::array()))
          per_fold +=
              (per_fold.empty() ? "" : " ") + (v.is_number() ? f(v.get<double>(), 4) : "failed");
        const double rank = jnum(r, "rank");
        ranked.push_back(
            {rank,
             {rank == 1 ? "chosen" : "", f(rank, 0), f(jnum(r, "candidate_id"), 0),
              escape_html(jstr(r, "genome")), f(jnum(r, "search_fitness"), 4),
              f(jnum(r, "search_miou"), 4), per_fold,
              f(jnum(r, "mean"), 4) + " ± " + f(jnum(r, "sd"), 4), f(jnum(r, "fitness"), 4)}});
      }
      std::stable_sort(ranked.begin(), ranked.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<std::vector<std::string>> rows;
      for (auto& r : ranked) rows.push_back(std::move(r.second));
      section("rescore", "Re-scored on folds",
              "<p>The search's best candidates by fitness, each trained again from scratch "
              "as a candidate on every cross-validation fold of the scenes outside test; "
              "ranked by the fitness with the mean device mIoU over the folds, which chooses "
              "the winner (rescore/).</p>\n" +
                  html_table({"", "rank", "id", "genome", "search fitness", "search mIoU",
                              "mIoU per fold, " + escape_html(device), "mean ± sd",
                              "fitness with the mean"},
                             rows));
    }

    // The search's best few retrained before the winner was chosen ([evaluation]
    // final_candidates, search/finalists.h).
    if (run.summary.is_object() && run.summary.contains("finalists") &&
        run.summary["finalists"].is_array()) {
      std::vector<std::vector<std::string>> rows;
      for (const auto& r : run.summary["finalists"]) {
        std::string per_seed;
        for (const auto& v : r.value("miou", json::array()))
          per_seed += (per_seed.empty() ? "" : " ") + f(v.is_number() ? v.get<double>() : NAN, 4);
        rows.push_back({r.value("chosen", false) ? "chosen" : "", f(jnum(r, "candidate_id"), 0),
                        escape_html(jstr(r, "genome")), f(jnum(r, "search_fitness"), 4),
                        f(jnum(r, "search_miou"), 4), per_seed,
                        f(jnum(r, "mean"), 4) + " ± " + f(jnum(r, "sd"), 4),
                        f(jnum(r, "fitness"), 4)});
      }
      section("finalists", "The finalists",
              "<p>The search's best candidates by fitness, each retrained like the winner "
              "with the same training seeds; the winner is the one whose fitness with its "
              "mean device mIoU over the seeds (on the search's split) is highest "
              "(finalists/).</p>\n" +
                  html_table({"", "id", "genome", "search fitness", "search mIoU",
                              "mIoU per seed, " + escape_html(device), "mean ± sd",
                              "fitness with the mean"},
                             rows));
    }

    // Panels.
    std::vector<PanelModel> models;
    std::string why;
    if (!ck_error.empty()) {
      why = ck_error;
    } else if (!run.best_checkpoint.empty() && !run.best_twin_checkpoint.empty()) {
      // The headline comparison for the winner: FP32 training, its post-training conversion
      // on the device, and aligned training on the device.
      models.push_back({"FP32 twin, host", run.best_twin_checkpoint, "host"});
      models.push_back(
          {"FP32 twin, post-conversion on " + device, run.best_twin_checkpoint, device});
      models.push_back(
          {"the winner, trained " + precision + ", on " + device, run.best_checkpoint, device});
    } else if (!run.best_checkpoint.empty()) {
      models.push_back({"the winner, FP32 forward on the host", run.best_checkpoint, "host"});
      models.push_back({precision == "fp32" ? "post-conversion on " + device
                                            : "trained " + precision + ", on " + device,
                        run.best_checkpoint, device});
      if (precision != "fp32")
        why = "This search trained its winner with precision " + precision +
              " only (no best/fp32/: [evaluation] final_fp32_twin = false, or a run made "
              "before it), so there is no post-conversion column of an FP32-trained network; "
              "`dalnas compare --arch <winner>` trains both and its report shows all columns.";
      else
        why =
            "This search trained in fp32: there is no aligned column; `dalnas compare --arch "
            "<winner>` trains both and its report shows all columns.";
    }
    panels_section(train_cfg, test_names, models, why);
    config_section();
  }

  // --- compare ------------------------------------------------------------------------
  static constexpr const char* kArms[4] = {"fp32_host", "ptq_device", "aligned_device",
                                           "control_device"};
  static std::string arm_label(int i, const std::string& device) {
    const std::string labels[4] = {"(a) FP32, host", "(b) post-conversion, " + device,
                                   "(c) aligned, " + device, "(d) FP32 fine-tune, " + device};
    return labels[i];
  }

  void compare() {
    const json& c = run.compare;
    const std::string device = jstr(c, "device");
    const auto seeds = c.contains("seeds") && c["seeds"].is_array() ? c["seeds"].size() : 0;
    section("overview", "Overview",
            kv_table({{"run folder", run.dir},
                      {"kind", "compare"},
                      {"genome", jstr(c, "genome")},
                      {"parameters", f(jnum(c, "params"), 0)},
                      {"device", device + " (" + jstr(c, "device_numerics") + ")"},
                      {"data", jstr(c, "data")},
                      {"seeds", std::to_string(seeds)},
                      {"gap recovered (c - b) / (a - b)", f(jnum(c, "gap_recovered"), 3)}}));
    // Four arms with error bars.
    {
      const std::string title = "Four arms (mean ± standard deviation over seeds)";
      std::vector<std::string> labels;
      BarSeries miou{"mIoU", {}, {}}, vessel{"IoU vessel", {}, {}};
      std::vector<std::vector<std::string>> rows;
      std::vector<std::vector<double>> per_seed(4);
      for (int i = 0; i < 4; ++i) {
        labels.push_back(arm_label(i, device));
        std::vector<double> m, v;
        if (c.contains(kArms[i]) && c[kArms[i]].contains("per_seed"))
          for (const auto& s : c[kArms[i]]["per_seed"]) {
            m.push_back(jnum(s, "miou"));
            v.push_back(jnum(s, "iou_vessel"));
          }
        const auto [mm, ms] = mean_sd(m);
        const auto [vm, vs] = mean_sd(v);
        miou.mean.push_back(mm);
        miou.sd.push_back(ms);
        vessel.mean.push_back(vm);
        vessel.sd.push_back(vs);
        std::string seeds_text;
        for (double x : m) seeds_text += (seeds_text.empty() ? "" : ", ") + f(x, 4);
        rows.push_back({escape_html(labels.back()), f(mm), f(ms), f(vm), f(vs), seeds_text});
      }
      std::string body;
      if (seeds < 2) body += missing(title, "one seed: no error bars (run with --seeds 2 or more)");
      body += add_chart(bars_chart("chart-arms", labels, {miou, vessel}, "test score"));
      body += html_table(
          {"arm", "mIoU mean", "mIoU sd", "IoU vessel mean", "IoU vessel sd", "mIoU per seed"},
          rows);
      section("arms", title, body);
    }
    // Object-level metrics (seed means).
    {
      std::vector<std::string> names;
      std::vector<json> objs;
      for (int i = 0; i < 4; ++i) {
        names.push_back(arm_label(i, device));
        json mean;
        if (c.contains(kArms[i]) && c[kArms[i]].contains("per_seed")) {
          std::map<std::string, std::vector<double>> acc;
          for (const auto& s : c[kArms[i]]["per_seed"]) {
            if (!s.contains("objects")) continue;
            const auto& o = s["objects"];
            for (const char* k : {"recall", "precision", "fragmentation", "boundary_f1"})
              acc[k].push_back(jnum(o, k));
            for (const char* b : {"small", "medium", "large"})
              acc[b].push_back(jpath(o, {"by_size", b, "recall"}));
          }
          if (!acc.empty()) {
            mean = json::object();
            for (const char* k : {"recall", "precision", "fragmentation", "boundary_f1"})
              mean[k] = mean_sd(acc[k]).first;
            for (const char* b : {"small", "medium", "large"})
              mean["by_size"][b]["recall"] = mean_sd(acc[b]).first;
          }
        }
        objs.push_back(mean);
      }
      objects_section(names, objs, "Means over the seeds, on the test scenes.");
    }
    genome_sections(jstr(c, "genome"), 4, device.empty() ? "myriadx" : device, 256, 256, "Network");
    std::vector<std::string> test_names;
    if (c.contains("test_scenes"))
      for (const auto& n : c["test_scenes"]) test_names.push_back(n.get<std::string>());
    std::vector<PanelModel> models;
    std::string why;
    if (!run.fp32_checkpoint.empty()) {
      models.push_back({"(a) FP32 on the host", run.fp32_checkpoint, "host"});
      models.push_back({"(b) post-conversion on " + device, run.fp32_checkpoint, device});
    }
    if (!run.aligned_checkpoint.empty())
      models.push_back({"(c) aligned on " + device, run.aligned_checkpoint, device});
    if (run.fp32_checkpoint.empty() || run.aligned_checkpoint.empty())
      why =
          "this compare run keeps no fp32.ckpt / aligned.ckpt (runs made before the "
          "comparison saved its first seed's networks)";
    else
      why = "";
    panels_section(run.config, test_names, models, why);
    config_section();
  }

  // --- census -------------------------------------------------------------------------
  void census() {
    const json& c = run.census;
    const std::string device = jstr(c, "device");
    const json cells = c.contains("cells") && c["cells"].is_array() ? c["cells"] : json::array();
    std::vector<std::string> genomes;
    for (const auto& cell : cells) {
      const std::string g = jstr(cell, "genome");
      if (std::find(genomes.begin(), genomes.end(), g) == genomes.end()) genomes.push_back(g);
    }
    auto cell_label = [&](const json& cell) {
      const auto k =
          std::find(genomes.begin(), genomes.end(), jstr(cell, "genome")) - genomes.begin();
      return "g" + std::to_string(k + 1) + " " + jstr(cell, "pipeline");
    };
    {
      std::vector<std::vector<std::string>> rows;
      for (size_t k = 0; k < genomes.size(); ++k)
        rows.push_back(
            {"g" + std::to_string(k + 1), "<code>" + escape_html(genomes[k]) + "</code>"});
      std::string body = kv_table({{"run folder", run.dir},
                                   {"kind", "census"},
                                   {"device", device},
                                   {"data", jstr(c, "data")},
                                   {"cells (genome × pipeline)", std::to_string(cells.size())},
                                   {"seconds", f(jnum(c, "seconds"), 0)}});
      body += "<h3>Genomes</h3>\n" + html_table({"", "genome"}, rows);
      if (cells.empty()) body += missing("Overview", "no finished cell in census.json");
      section("overview", "Overview", body);
    }
    {
      const std::string title = "Four arms per genome and input pipeline";
      std::vector<std::string> labels;
      std::vector<BarSeries> series(4);
      for (int i = 0; i < 4; ++i) series[static_cast<size_t>(i)].name = arm_label(i, device);
      for (const auto& cell : cells) {
        labels.push_back(cell_label(cell));
        for (int i = 0; i < 4; ++i) {
          series[static_cast<size_t>(i)].mean.push_back(jpath(cell, {kArms[i], "miou"}));
          series[static_cast<size_t>(i)].sd.push_back(std::nan(""));
        }
      }
      std::string body = missing(title,
                                 "the census trains one seed per cell: no error bars "
                                 "(`dalnas compare --seeds N` gives them for one genome)");
      if (!cells.empty())
        body += add_chart(bars_chart("chart-census-arms", labels, series, "test mIoU"));
      section("arms", title, body);
    }
    {
      const std::string title = "Census: gap given back per device behaviour";
      std::vector<std::string> xs, ys;
      std::vector<HeatCell> hc;
      std::vector<std::vector<std::string>> rows;
      for (const auto& cell : cells) {
        const std::string y = cell_label(cell);
        ys.push_back(y);
        std::vector<std::string> row{escape_html(y), f(jnum(cell, "gap"), 4)};
        if (cell.contains("ablations"))
          for (const auto& a : cell["ablations"]) {
            const std::string b = jstr(a, "behaviour");
            if (std::find(xs.begin(), xs.end(), b) == xs.end()) xs.push_back(b);
            const double v = jnum(a, "gap_given_back");  // null: the device could not run it
            if (std::isfinite(v)) hc.push_back({b, y, v});
          }
        rows.push_back(row);
      }
      // Table columns in the order of xs.
      std::vector<std::string> header{"cell", "gap (a) - (b)"};
      for (const auto& b : xs) header.push_back(escape_html(b));
      for (size_t r = 0; r < cells.size(); ++r) {
        for (const auto& b : xs) {
          double v = std::nan("");
          for (const auto& a : cells[r].value("ablations", json::array()))
            if (jstr(a, "behaviour") == b) v = jnum(a, "gap_given_back");
          rows[r].push_back(f(v, 4));
        }
      }
      std::string body =
          "<p>For each genome × input pipeline, the post-conversion mIoU gained when one device "
          "behaviour is switched off (eval/census.h): what that behaviour costs.</p>\n";
      if (hc.empty())
        body += missing(title, "no ablation in census.json (run without --no-ablation)");
      else
        body +=
            add_chart(heatmap_chart("chart-census-heatmap", xs, ys, hc, "gap given back (mIoU)"));
      body += html_table(header, rows, true, "census-table");
      section("heatmap", title, body);
    }
    {
      std::vector<std::string> names;
      std::vector<json> objs;
      for (const auto& cell : cells)
        for (int i = 0; i < 4; ++i) {
          names.push_back(cell_label(cell) + ": " + arm_label(i, device));
          objs.push_back(cell.contains(kArms[i]) && cell[kArms[i]].contains("objects")
                             ? cell[kArms[i]]["objects"]
                             : json());
        }
      objects_section(names, objs, "Per cell and arm, on the test scenes.");
    }
    panels_section(run.config, {}, {},
                   "the census keeps no trained networks; `dalnas compare --arch <genome>` on "
                   "one of its genomes writes a report with panels");
    config_section();
  }
};

}  // namespace

std::string build_report(const RunFolder& run, const ReportOptions& opt,
                         std::vector<std::string>* notes) {
  const std::string lib = load_chart_library(opt.chart_library);
  Builder b{run, opt, notes, {}, {}};
  switch (run.kind) {
    case RunKind::Search:
      b.search();
      break;
    case RunKind::Compare:
      b.compare();
      break;
    case RunKind::Census:
      b.census();
      break;
  }
  const std::string title = "dalnas " + to_string(run.kind) +
                            " report: " + fs::path(run.dir).lexically_normal().filename().string();
  return html_page(title, b.sections, lib, page_script(b.charts));
}

std::string write_report(const std::string& run_dir, const std::string& out_file,
                         const ReportOptions& opt, std::vector<std::string>* notes) {
  const RunFolder run = load_run_folder(run_dir);
  const std::string out =
      out_file.empty() ? (fs::path(run_dir) / "report.html").string() : out_file;
  write_file_atomic(out, build_report(run, opt, notes));
  return out;
}

}  // namespace dalnas::report
