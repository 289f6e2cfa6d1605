#include "data/synthetic.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "core/error.h"

// The generator composes, in this order: sea (per-band base, multi-octave texture, swell,
// near-shore turbidity), sun glint (broad patch + sparkles), whitecaps, land (coastline or
// island, fields, beach, buildings), piers and port moles, vessel wakes, vessels (anti-aliased
// hulls, mask = coverage >= 0.5), thin cloud and haze, sensor noise, saturation, then clamps
// and rounds to uint16 digital numbers. All randomness comes from one std::mt19937_64 per scene
// seeded from (seed, index), with uniforms and normals derived from its raw output so the
// stream is the same with any standard library.

namespace dalnas {
namespace {

constexpr int kBands = 4;  // blue, green, red, near infrared
constexpr double kPi = 3.14159265358979323846;
using Spectrum = std::array<double, kBands>;

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  double uniform() { return static_cast<double>(g_() >> 11) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  int integer(int lo, int hi) {  // inclusive
    int v = lo + static_cast<int>(uniform() * (static_cast<double>(hi) - lo + 1));
    return std::min(v, hi);
  }
  bool chance(double p) { return uniform() < p; }
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * kPi * u2);
    has_spare_ = true;
    return r * std::cos(2 * kPi * u2);
  }

 private:
  std::mt19937_64 g_;
  bool has_spare_ = false;
  double spare_ = 0;
};

double smoothstep(double e0, double e1, double x) {
  const double t = std::clamp((x - e0) / (e1 - e0), 0.0, 1.0);
  return t * t * (3 - 2 * t);
}

// Multi-octave value noise over h × w, standardised to mean 0 and standard deviation 1.
std::vector<float> fractal_noise(int h, int w, double cell, int octaves, double persistence,
                                 Rng& rng) {
  const size_t n = static_cast<size_t>(h) * w;
  std::vector<float> out(n, 0.0f);
  std::vector<int> xi(w);
  std::vector<float> xt(w);
  double amp = 1.0;
  for (int o = 0; o < octaves; ++o, amp *= persistence, cell *= 0.5) {
    cell = std::max(cell, 1.0);
    const int gh = static_cast<int>(h / cell) + 3, gw = static_cast<int>(w / cell) + 3;
    std::vector<float> lattice(static_cast<size_t>(gh) * gw);
    for (float& v : lattice) v = static_cast<float>(rng.uniform(-1, 1));
    const double oy = rng.uniform() * cell, ox = rng.uniform() * cell;
    for (int x = 0; x < w; ++x) {
      const double f = (x + ox) / cell;
      const int i = static_cast<int>(f);
      const double t = f - i;
      xi[x] = i;
      xt[x] = static_cast<float>(t * t * (3 - 2 * t));
    }
    const float a = static_cast<float>(amp);
    for (int y = 0; y < h; ++y) {
      const double f = (y + oy) / cell;
      const int j = static_cast<int>(f);
      const double tr = f - j;
      const float t = static_cast<float>(tr * tr * (3 - 2 * tr));
      const float* r0 = &lattice[static_cast<size_t>(j) * gw];
      const float* r1 = r0 + gw;
      float* row = &out[static_cast<size_t>(y) * w];
      for (int x = 0; x < w; ++x) {
        const int i = xi[x];
        const float s = xt[x];
        const float top = r0[i] + s * (r0[i + 1] - r0[i]);
        const float bottom = r1[i] + s * (r1[i + 1] - r1[i]);
        row[x] += a * (top + t * (bottom - top));
      }
    }
  }
  double sum = 0, sum2 = 0;
  for (float v : out) {
    sum += v;
    sum2 += static_cast<double>(v) * v;
  }
  const double mean = sum / n;
  const double sd = std::sqrt(std::max(sum2 / n - mean * mean, 1e-12));
  for (float& v : out) v = static_cast<float>((v - mean) / sd);
  return out;
}

enum class ShapeKind { kRect, kHull };

struct Shape {
  double cy = 0, cx = 0;  // centre in pixel units (pixel (y, x) spans [y, y+1) × [x, x+1))
  double angle = 0;       // direction of the long axis (bow for hulls); x right, y down
  double half_len = 1, half_wid = 1;
  ShapeKind kind = ShapeKind::kRect;
};

bool inside(const Shape& s, double u, double v) {
  if (std::abs(u) > s.half_len) return false;
  double hw = s.half_wid;
  if (s.kind == ShapeKind::kHull) {
    const double bow = std::min(s.half_len * 0.7, s.half_wid * 2.5);
    const double from_tip = s.half_len - u;
    if (from_tip < bow) hw *= std::sqrt(from_tip / bow);
    const double from_stern = u + s.half_len;
    const double r = 0.6 * s.half_wid;
    if (from_stern < r) hw *= 0.7 + 0.3 * from_stern / r;
  }
  return std::abs(v) <= hw;
}

struct Covered {
  int y, x;
  float cover;  // fraction of the pixel inside the shape
  float u, v;   // pixel centre in shape coordinates (u along the long axis)
};

// Pixels of the image touched by the shape, with coverage from 4 × 4 supersampling.
std::vector<Covered> rasterise(const Shape& s, int h, int w) {
  constexpr int kSub = 4;
  const double c = std::cos(s.angle), sn = std::sin(s.angle);
  const double r = std::hypot(s.half_len, s.half_wid) + 1;
  const int y0 = std::max(0, static_cast<int>(std::floor(s.cy - r)));
  const int y1 = std::min(h - 1, static_cast<int>(std::ceil(s.cy + r)));
  const int x0 = std::max(0, static_cast<int>(std::floor(s.cx - r)));
  const int x1 = std::min(w - 1, static_cast<int>(std::ceil(s.cx + r)));
  std::vector<Covered> out;
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) {
      int hits = 0;
      for (int sy = 0; sy < kSub; ++sy) {
        const double dy = y + (sy + 0.5) / kSub - s.cy;
        for (int sx = 0; sx < kSub; ++sx) {
          const double dx = x + (sx + 0.5) / kSub - s.cx;
          hits += inside(s, dx * c + dy * sn, -dx * sn + dy * c);
        }
      }
      if (hits == 0) continue;
      const double dx = x + 0.5 - s.cx, dy = y + 0.5 - s.cy;
      out.push_back({y, x, static_cast<float>(hits) / (kSub * kSub),
                     static_cast<float>(dx * c + dy * sn), static_cast<float>(-dx * sn + dy * c)});
    }
  }
  return out;
}

Spectrum scaled(Spectrum s, double f) {
  for (double& v : s) v *= f;
  return s;
}

struct Vessel {
  Shape hull;
  Spectrum colour{};
  bool moving = false;
  double wake_len = 0;  // e-folding length of the wake in pixels
  double wake_amp = 0;  // wake brightness at the stern relative to the hull contrast
  std::vector<Covered> pixels;
};

struct Mole {
  Shape shape;
};

class SceneBuilder {
 public:
  SceneBuilder(const SyntheticOptions& opt, int index)
      : opt_(opt),
        h_(opt.height),
        w_(opt.width),
        n_(static_cast<size_t>(h_) * w_),
        rng_(mix64(mix64(opt.seed) ^ mix64(0xD1B54A32D192ED03ull + static_cast<uint64_t>(index)))),
        img_(kBands * n_, 0.0f),
        land_(n_, 0.0f),
        occupied_(n_, 0),
        vessel_occ_(n_, 0),
        mask_(n_, 0) {}

  Scene build(int index) {
    sea();
    glint();
    whitecaps();
    if (rng_.chance(0.5)) land();
    vessels();
    clouds();
    noise();
    saturate();
    Scene s;
    char name[32];
    std::snprintf(name, sizeof(name), "synthetic-%03d", index);
    s.name = name;
    s.bands = kBands;
    s.height = h_;
    s.width = w_;
    for (float& v : img_) v = std::round(std::clamp(v, 0.0f, 65535.0f));
    s.image = std::move(img_);
    s.mask = std::move(mask_);
    return s;
  }

 private:
  float& px(int b, size_t i) { return img_[b * n_ + i]; }
  size_t at(int y, int x) const { return static_cast<size_t>(y) * w_ + x; }

  // Water: per-band base reflectance, texture, a gentle gradient and swell.
  void sea() {
    const double blue = rng_.uniform(2600, 3800);
    sea_ = {blue, std::max(2300.0, blue * rng_.uniform(0.86, 1.02)),
            std::max(2150.0, blue * rng_.uniform(0.74, 0.92)), rng_.uniform(1100, 2000)};
    const auto texture = fractal_noise(h_, w_, rng_.uniform(24, 64), 4, 0.5, rng_);
    const double tex_amp = rng_.uniform(0.015, 0.04);
    const double ga = rng_.uniform(0, 2 * kPi), gamp = rng_.uniform(0, 0.06) / std::max(h_, w_);
    // Swell: 1-3 oriented sinusoids around a dominant direction, modulated in space.
    const int waves = rng_.integer(1, 3);
    const double dir = rng_.uniform(0, 2 * kPi);
    std::array<double, 3> kx{}, ky{}, ph{}, amp{};
    for (int i = 0; i < waves; ++i) {
      const double d = dir + rng_.uniform(-0.5, 0.5);
      const double lambda = rng_.uniform(5, 24);
      kx[i] = 2 * kPi * std::cos(d) / lambda;
      ky[i] = 2 * kPi * std::sin(d) / lambda;
      ph[i] = rng_.uniform(0, 2 * kPi);
      amp[i] = i == 0 ? 1.0 : rng_.uniform(0.2, 0.6);
    }
    const double amp_sum = amp[0] + amp[1] + amp[2];
    for (double& a : amp) a /= amp_sum;
    const double swell_amp = rng_.uniform(0.004, 0.02);
    const auto modulation = fractal_noise(h_, w_, 64, 2, 0.5, rng_);
    swell_.assign(n_, 0.0f);
    texture_ = texture;
    const Spectrum band_swell{1.0, 1.0, 1.0, 1.6};
    for (int y = 0; y < h_; ++y) {
      for (int x = 0; x < w_; ++x) {
        const size_t i = at(y, x);
        double s = 0;
        for (int k = 0; k < waves; ++k) s += amp[k] * std::sin(kx[k] * x + ky[k] * y + ph[k]);
        s *= std::clamp(0.7 + 0.3 * modulation[i], 0.0, 1.5);
        swell_[i] = static_cast<float>(s);
        const double grad = gamp * ((x - w_ * 0.5) * std::cos(ga) + (y - h_ * 0.5) * std::sin(ga));
        for (int b = 0; b < kBands; ++b) {
          px(b, i) = static_cast<float>(
              sea_[b] * (1 + tex_amp * texture[i] + swell_amp * band_swell[b] * s + grad));
        }
      }
    }
  }

  // Sun glint: a broad bright patch (spectrally flat), stronger on wave crests, with sparkles.
  void glint() {
    if (!rng_.chance(0.4)) return;
    const double gy = rng_.uniform(-0.3, 1.3) * h_, gx = rng_.uniform(-0.3, 1.3) * w_;
    const double sigma = rng_.uniform(0.3, 1.0) * std::max(h_, w_);
    const double peak = rng_.uniform(300, 1800);
    const double sparkle_rate = rng_.uniform(0.0005, 0.004);
    for (int y = 0; y < h_; ++y) {
      for (int x = 0; x < w_; ++x) {
        const size_t i = at(y, x);
        const double r2 = (y - gy) * (y - gy) + (x - gx) * (x - gx);
        const double blob = std::exp(-r2 / (2 * sigma * sigma));
        const double slope = std::clamp(1 + 0.3 * swell_[i] + 0.25 * texture_[i], 0.2, 2.0);
        double g = peak * blob * slope;
        if (blob > 0.2 && swell_[i] > 0.2 && rng_.chance(sparkle_rate * blob)) {
          g += std::min(40000.0, peak * blob * rng_.uniform(2.0, 12.0));
        }
        for (int b = 0; b < kBands; ++b) px(b, i) += static_cast<float>(g * (b == 3 ? 0.95 : 1.0));
      }
    }
  }

  // Wind-driven foam specks: small bright points on the sea.
  void whitecaps() {
    if (!rng_.chance(0.3)) return;
    const int count = rng_.integer(20, 200);
    for (int k = 0; k < count; ++k) {
      const int y = rng_.integer(0, h_ - 1), x = rng_.integer(0, w_ - 1);
      const double a = rng_.uniform(300, 2500);
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const int yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= h_ || xx < 0 || xx >= w_) continue;
          const double f = (dx == 0 && dy == 0) ? 1.0 : (dx == 0 || dy == 0) ? 0.25 : 0.0;
          for (int b = 0; b < kBands; ++b)
            px(b, at(yy, xx)) += static_cast<float>(a * f * (b == 3 ? 0.6 : 1.0));
        }
      }
    }
  }

  // Coastline or island, land cover, beach, turbid near-shore water, buildings, piers, port.
  void land() {
    const double amp = rng_.uniform(10, 40);
    const auto wobble = fractal_noise(h_, w_, rng_.uniform(48, 128), 5, 0.55, rng_);
    std::vector<float> d(n_);
    const bool island = rng_.chance(0.3);
    const double fraction = island ? rng_.uniform(0.06, 0.25) : rng_.uniform(0.1, 0.4);
    const double a = rng_.uniform(0, 2 * kPi), ny = std::sin(a), nx = std::cos(a);
    const double iy = rng_.uniform(0.2, 0.8) * h_, ix = rng_.uniform(0.2, 0.8) * w_;
    for (int y = 0; y < h_; ++y) {
      for (int x = 0; x < w_; ++x) {
        const size_t i = at(y, x);
        const double base = island ? -std::hypot(y - iy, x - ix)
                                   : (x + 0.5 - w_ * 0.5) * nx + (y + 0.5 - h_ * 0.5) * ny;
        d[i] = static_cast<float>(base + amp * wobble[i]);
      }
    }
    std::vector<float> sorted = d;
    const size_t q = std::min(n_ - 1, static_cast<size_t>((1 - fraction) * n_));
    std::nth_element(sorted.begin(), sorted.begin() + q, sorted.end());
    const double thr = sorted[q];

    const double veg_scale = rng_.uniform(0.85, 1.15);
    const Spectrum veg = scaled({3700, 4500, 3900, rng_.uniform(8500, 14000)}, veg_scale);
    const Spectrum soil = scaled({5200, 6200, 7200, 8500}, rng_.uniform(0.85, 1.2));
    const Spectrum sand = scaled({8000, 9000, 10000, 10500}, rng_.uniform(0.85, 1.15));
    const Spectrum turbid = scaled({300, 650, 700, 150}, rng_.uniform(0, 1.5));
    const double turbid_dist = rng_.uniform(5, 30);
    const double beach_w = rng_.chance(0.6) ? rng_.uniform(1, 4) : 0;
    const double veg_bias = rng_.uniform(-0.6, 0.6);
    const auto cover = fractal_noise(h_, w_, 40, 4, 0.5, rng_);
    const auto fine = fractal_noise(h_, w_, 6, 2, 0.5, rng_);
    const double pa = rng_.uniform(0, kPi / 2), pc = std::cos(pa), ps = std::sin(pa);
    const double cell_u = rng_.uniform(10, 30), cell_v = rng_.uniform(10, 30);
    const double veg_share = rng_.uniform(0.3, 0.9);
    const uint64_t salt = mix64(static_cast<uint64_t>(rng_.uniform() * 1e18));
    for (int y = 0; y < h_; ++y) {
      for (int x = 0; x < w_; ++x) {
        const size_t i = at(y, x);
        const double e = d[i] - thr;  // > 0 on land, roughly the distance in pixels
        if (e < -turbid_dist * 4) continue;
        if (e < -0.6) {
          const double t = std::exp(e / turbid_dist);
          for (int b = 0; b < kBands; ++b) px(b, i) += static_cast<float>(turbid[b] * t);
          continue;
        }
        const double lw = smoothstep(-0.6, 0.6, e);
        land_[i] = static_cast<float>(lw);
        if (lw > 0.05) occupied_[i] = 1;
        // Fields: a rotated grid of parcels, each vegetation or bare soil with its own brightness.
        const auto pu = static_cast<int64_t>(std::floor((x * pc + y * ps) / cell_u));
        // Rows of parcels are staggered (offset per column) so they do not form a checkerboard.
        const double stagger =
            static_cast<double>(mix64(salt + static_cast<uint64_t>(pu)) >> 11) * 0x1.0p-53 * cell_v;
        const auto pv = static_cast<int64_t>(std::floor((-x * ps + y * pc + stagger) / cell_v));
        const uint64_t hsh = mix64(
            salt ^ mix64(static_cast<uint64_t>(pu) * 0x1000193ull + static_cast<uint64_t>(pv)));
        const double hu = static_cast<double>(hsh >> 11) * 0x1.0p-53;
        const double parcel_veg = hu < veg_share ? 1.0 : 0.0;
        const double bright = 0.8 + 0.4 * static_cast<double>((hsh >> 3) & 0xFF) / 255.0;
        const double wv = std::clamp(
            0.55 * parcel_veg + 0.45 * smoothstep(-0.5, 0.5, cover[i] + veg_bias), 0.0, 1.0);
        const double beach = beach_w > 0 ? smoothstep(-0.5, 0.5, beach_w - e) : 0.0;
        for (int b = 0; b < kBands; ++b) {
          double v = (soil[b] + wv * (veg[b] - soil[b])) * bright * (1 + 0.05 * fine[i]);
          v += beach * (sand[b] - v);
          px(b, i) = static_cast<float>(px(b, i) * (1 - lw) + v * lw);
        }
      }
    }

    // Coast pixels and their seaward direction (down the gradient of d).
    struct Coast {
      int y, x;
      double sy, sx;
    };
    std::vector<Coast> coast;
    for (int y = 3; y < h_ - 3; ++y) {
      for (int x = 3; x < w_ - 3; ++x) {
        const size_t i = at(y, x);
        if (d[i] <= thr) continue;
        if (d[at(y - 1, x)] > thr && d[at(y + 1, x)] > thr && d[at(y, x - 1)] > thr &&
            d[at(y, x + 1)] > thr)
          continue;
        const double gy = d[at(y + 3, x)] - d[at(y - 3, x)];
        const double gx = d[at(y, x + 3)] - d[at(y, x - 3)];
        const double g = std::hypot(gy, gx);
        if (g < 1e-6) continue;
        coast.push_back({y, x, -gy / g, -gx / g});
      }
    }
    if (coast.empty()) return;

    // A town near the coast: small bright roofs and concrete, on land only.
    const Coast& town = coast[rng_.integer(0, static_cast<int>(coast.size()) - 1)];
    const double town_y = town.y - town.sy * rng_.uniform(5, 30);
    const double town_x = town.x - town.sx * rng_.uniform(5, 30);
    const double town_r = rng_.uniform(10, 35);
    const double street = rng_.uniform(0, kPi);
    const int buildings = rng_.integer(8, 40);
    for (int k = 0; k < buildings; ++k) {
      Shape s;
      const bool scattered = rng_.chance(0.2);
      s.cy = scattered ? rng_.uniform(0, h_) : town_y + town_r * rng_.normal();
      s.cx = scattered ? rng_.uniform(0, w_) : town_x + town_r * rng_.normal();
      if (s.cy < 0 || s.cy >= h_ || s.cx < 0 || s.cx >= w_) continue;
      if (land_[at(static_cast<int>(s.cy), static_cast<int>(s.cx))] < 0.99) continue;
      s.half_len = rng_.uniform(1, 3.5);
      s.half_wid = rng_.uniform(0.8, 3);
      s.angle = street + (rng_.chance(0.5) ? kPi / 2 : 0);
      const Spectrum col =
          rng_.chance(0.3)
              ? scaled({4500, 5000, 8000, 7500}, rng_.uniform(0.8, 1.2))
              : scaled({1.0, 1.02, 1.03, rng_.uniform(0.8, 1.0)}, rng_.uniform(6000, 14000));
      composite(s, col, false);
    }

    // Piers and jetties: thin bright concrete strips from the coast into the sea.
    const int piers = rng_.integer(0, 4);
    for (int k = 0; k < piers; ++k) {
      const Coast& c = coast[rng_.integer(0, static_cast<int>(coast.size()) - 1)];
      const double len = rng_.uniform(8, 40);
      Shape s;
      s.angle = std::atan2(c.sy, c.sx);
      s.half_len = len / 2 + 1;
      s.half_wid = rng_.uniform(0.5, 1.2);
      s.cy = c.y + 0.5 + c.sy * (len / 2 - 1);
      s.cx = c.x + 0.5 + c.sx * (len / 2 - 1);
      const Spectrum col = scaled({1.0, 1.0, 1.02, 0.95}, rng_.uniform(6000, 9000));
      composite(s, col, true);
      if (rng_.chance(0.3)) {  // T-shaped head
        Shape t = s;
        t.angle += kPi / 2;
        t.half_len = rng_.uniform(2, 6);
        t.half_wid = rng_.uniform(0.8, 1.5);
        t.cy = c.y + 0.5 + c.sy * (len - 1);
        t.cx = c.x + 0.5 + c.sx * (len - 1);
        composite(t, col, true);
      }
    }

    // A port: 1-3 broad moles near each other; vessels may moor alongside.
    if (rng_.chance(0.45)) {
      const Coast& p = coast[rng_.integer(0, static_cast<int>(coast.size()) - 1)];
      const int count = rng_.integer(1, 3);
      const Spectrum col = scaled({1.0, 1.0, 1.0, 0.92}, rng_.uniform(6500, 10000));
      for (int k = 0; k < count; ++k) {
        const Coast* c = &p;
        for (int tries = 0; tries < 50 && k > 0; ++tries) {
          const Coast& q2 = coast[rng_.integer(0, static_cast<int>(coast.size()) - 1)];
          const double dist = std::hypot(q2.y - p.y, q2.x - p.x);
          if (dist > 15 && dist < 60) {
            c = &q2;
            break;
          }
        }
        if (k > 0 && c == &p) break;
        Shape s;
        s.angle = std::atan2(c->sy, c->sx);
        const double depth = rng_.uniform(20, 50);
        s.half_len = depth / 2 + 4;
        s.half_wid = rng_.uniform(3, 7);
        s.cy = c->y + 0.5 + c->sy * (depth / 2 - 4);
        s.cx = c->x + 0.5 + c->sx * (depth / 2 - 4);
        composite(s, col, true);
        moles_.push_back({s});
      }
    }
  }

  // Composites an opaque shape with anti-aliased edges; marks it occupied for vessel placement.
  void composite(const Shape& s, const Spectrum& col, bool occupy) {
    for (const Covered& c : rasterise(s, h_, w_)) {
      const size_t i = at(c.y, c.x);
      for (int b = 0; b < kBands; ++b)
        px(b, i) += c.cover * (static_cast<float>(col[b]) - px(b, i));
      if (occupy) occupied_[i] = 1;
    }
  }

  bool free_for(const std::vector<Covered>& pixels) const {
    for (const Covered& c : pixels) {
      for (int dy = -1; dy <= 1; ++dy) {
        for (int dx = -1; dx <= 1; ++dx) {
          const int y = c.y + dy, x = c.x + dx;
          if (y < 0 || y >= h_ || x < 0 || x >= w_) continue;
          if (occupied_[at(y, x)] || vessel_occ_[at(y, x)]) return false;
        }
      }
    }
    return true;
  }

  void vessels() {
    const int count = rng_.integer(opt_.min_vessels, opt_.max_vessels);
    const double max_len = std::clamp(0.4 * std::min(h_, w_), 3.0, 60.0);
    std::vector<Vessel> placed;
    std::vector<int> moored_on(moles_.size(), 0);
    for (int k = 0; k < count; ++k) {
      double len = std::min(max_len, 3.0 * std::pow(20.0, std::pow(rng_.uniform(), 1.3)));
      Vessel v;
      bool ok = false;
      for (int attempt = 0; attempt < 120 && !ok; ++attempt) {
        if (attempt > 0 && attempt % 40 == 0) len = std::max(3.0, len * 0.7);
        const double wid = std::max(rng_.uniform(1.0, 1.6), len / rng_.uniform(3, 6));
        Shape s;
        s.kind = ShapeKind::kHull;
        s.half_len = len / 2;
        s.half_wid = wid / 2;
        bool moored = false;
        const double mode = rng_.uniform();
        if (!moles_.empty() && mode < 0.25) {
          // Alongside a mole, parallel to it.
          const int m = rng_.integer(0, static_cast<int>(moles_.size()) - 1);
          const Shape& q = moles_[m].shape;
          const double side = rng_.chance(0.5) ? 1 : -1;
          const double room = std::max(0.0, q.half_len - s.half_len - 2);
          const double along = rng_.uniform(-room, room);
          const double off = side * (q.half_wid + s.half_wid + rng_.uniform(1.2, 2.5));
          const double c = std::cos(q.angle), sn = std::sin(q.angle);
          s.cx = q.cx + along * c - off * sn;
          s.cy = q.cy + along * sn + off * c;
          s.angle = q.angle + (rng_.chance(0.5) ? kPi : 0);
          moored = true;
        } else if (!placed.empty() && mode < 0.45) {
          // Near another vessel: rafted side by side, or close by with a similar heading.
          const Vessel& o = placed[rng_.integer(0, static_cast<int>(placed.size()) - 1)];
          const double c = std::cos(o.hull.angle), sn = std::sin(o.hull.angle);
          if (rng_.chance(0.5)) {
            const double off =
                (rng_.chance(0.5) ? 1 : -1) * (o.hull.half_wid + s.half_wid + rng_.uniform(1.2, 3));
            const double along = rng_.uniform(-0.3, 0.3) * o.hull.half_len;
            s.cx = o.hull.cx + along * c - off * sn;
            s.cy = o.hull.cy + along * sn + off * c;
            s.angle = o.hull.angle + (rng_.chance(0.7) ? 0 : kPi);
            moored = true;
          } else {
            const double dist = rng_.uniform(1.5, 4) * std::max(o.hull.half_len, s.half_len) * 2;
            const double a = rng_.uniform(0, 2 * kPi);
            s.cx = o.hull.cx + dist * std::cos(a);
            s.cy = o.hull.cy + dist * std::sin(a);
            s.angle = o.hull.angle + rng_.uniform(-0.3, 0.3);
          }
        } else {
          s.cx = rng_.uniform(2, w_ - 2);
          s.cy = rng_.uniform(2, h_ - 2);
          s.angle = rng_.uniform(0, 2 * kPi);
        }
        if (s.cx < 2 || s.cx > w_ - 2 || s.cy < 2 || s.cy > h_ - 2) continue;
        auto pixels = rasterise(s, h_, w_);
        if (pixels.empty() || !free_for(pixels)) continue;
        v.hull = s;
        v.pixels = std::move(pixels);
        v.moving = !moored && rng_.chance(0.6);
        ok = true;
      }
      if (!ok) continue;
      for (const Covered& c : v.pixels) vessel_occ_[at(c.y, c.x)] = 1;
      // Reflectance: most hulls brighter than the sea in every band, a few slightly darker.
      if (rng_.chance(0.08)) {
        const double f = rng_.uniform(0.75, 0.93);
        for (int b = 0; b < kBands; ++b) v.colour[b] = sea_[b] * f;
      } else {
        const double contrast = 1200 + 9000 * std::pow(rng_.uniform(), 1.5);
        static const Spectrum tints[] = {{1.0, 1.0, 1.0, 0.95},
                                         {0.8, 0.85, 1.1, 1.0},
                                         {1.1, 0.95, 0.85, 0.75},
                                         {0.9, 0.95, 1.0, 1.1}};
        const Spectrum& tint = tints[rng_.integer(0, 3)];
        for (int b = 0; b < kBands; ++b) v.colour[b] = sea_[b] + contrast * tint[b];
      }
      v.wake_len = v.hull.half_len * 2 * rng_.uniform(1.5, 6);
      v.wake_amp = rng_.uniform(0.12, 0.4);
      placed.push_back(std::move(v));
    }
    for (const Vessel& v : placed)
      if (v.moving) wake(v);
    for (const Vessel& v : placed) draw(v);
  }

  // Turbulent centre streak and the two arms of a Kelvin wake behind the stern (not in the mask).
  void wake(const Vessel& v) {
    const Shape& s = v.hull;
    const double c = std::cos(s.angle), sn = std::sin(s.angle);
    const double reach = std::min(4 * v.wake_len, 220.0);
    const double spread = 0.36 * reach + 4;
    const double corners[4][2] = {{-s.half_len, -spread},
                                  {-s.half_len, spread},
                                  {-s.half_len - reach, -spread},
                                  {-s.half_len - reach, spread}};
    double y0 = 1e9, y1 = -1e9, x0 = 1e9, x1 = -1e9;
    for (const auto& p : corners) {
      const double x = s.cx + p[0] * c - p[1] * sn, y = s.cy + p[0] * sn + p[1] * c;
      y0 = std::min(y0, y), y1 = std::max(y1, y), x0 = std::min(x0, x), x1 = std::max(x1, x);
    }
    const int iy0 = std::max(0, static_cast<int>(y0)), iy1 = std::min(h_ - 1, static_cast<int>(y1));
    const int ix0 = std::max(0, static_cast<int>(x0)), ix1 = std::min(w_ - 1, static_cast<int>(x1));
    const double kelvin = std::tan(19.47 * kPi / 180);
    const Spectrum foam{1.0, 1.0, 0.95, 0.5};
    double contrast = 0;
    for (int b = 0; b < 3; ++b) contrast += std::abs(v.colour[b] - sea_[b]) / 3;
    const double amp = std::max(600.0, contrast) * v.wake_amp;
    for (int y = iy0; y <= iy1; ++y) {
      for (int x = ix0; x <= ix1; ++x) {
        const size_t i = at(y, x);
        if (land_[i] > 0.5) continue;
        const double dx = x + 0.5 - s.cx, dy = y + 0.5 - s.cy;
        const double u = dx * c + dy * sn, w = -dx * sn + dy * c;
        const double t = -s.half_len - u;  // distance behind the stern
        if (t < -0.5) continue;
        const double tt = std::max(t, 0.0);
        const double sig = s.half_wid * 0.8 + 0.05 * tt;
        double val = std::exp(-tt / v.wake_len) * std::exp(-w * w / (2 * sig * sig));
        const double arm = std::abs(w) - kelvin * tt;
        const double sk = 0.7 + 0.03 * tt;
        val += 0.35 * std::exp(-tt / (1.5 * v.wake_len)) * std::exp(-arm * arm / (2 * sk * sk)) *
               smoothstep(0, 3, tt);
        if (val < 0.01) continue;
        val *= std::clamp(0.6 + 0.5 * texture_[i] + 0.4 * swell_[i], 0.15, 1.8);
        for (int b = 0; b < kBands; ++b) px(b, i) += static_cast<float>(amp * val * foam[b]);
      }
    }
  }

  void draw(const Vessel& v) {
    const double superstructure = v.hull.half_len >= 5 ? rng_.uniform(1.1, 1.5) : 1.0;
    const double ss_from = -0.8 * v.hull.half_len, ss_to = -0.2 * v.hull.half_len;
    const float best =
        std::max_element(v.pixels.begin(), v.pixels.end(), [](const Covered& a, const Covered& b) {
          return a.cover < b.cover;
        })->cover;
    for (const Covered& c : v.pixels) {
      const size_t i = at(c.y, c.x);
      const bool ss = c.u > ss_from && c.u < ss_to && std::abs(c.v) < 0.7 * v.hull.half_wid;
      const double deck = (1 + 0.06 * rng_.normal()) * (ss ? superstructure : 1.0);
      for (int b = 0; b < kBands; ++b) {
        const double target = sea_[b] + (v.colour[b] - sea_[b]) * deck;
        px(b, i) += c.cover * (static_cast<float>(target) - px(b, i));
      }
      // Annotated as vessel where at least half the pixel is hull (the best pixel of a tiny hull).
      if (c.cover >= 0.5f || (best < 0.5f && c.cover == best)) mask_[i] = 1;
    }
  }

  // Thin cloud (patchy, reduces contrast, brightens, more in blue) and uniform-ish haze.
  void clouds() {
    if (rng_.chance(0.5)) {
      const auto field = fractal_noise(h_, w_, rng_.uniform(64, 160), 4, 0.6, rng_);
      const double t0 = rng_.uniform(0.4, 1.6), width = rng_.uniform(0.8, 2.0);
      const double opacity = rng_.uniform(0.15, 0.45);
      const Spectrum cloud = scaled({9000, 8600, 8300, 7800}, rng_.uniform(0.7, 1.1));
      for (size_t i = 0; i < n_; ++i) {
        const double a = opacity * smoothstep(t0, t0 + width, field[i]);
        if (a <= 0) continue;
        for (int b = 0; b < kBands; ++b)
          px(b, i) = static_cast<float>(px(b, i) * (1 - 0.6 * a) + cloud[b] * a);
      }
    }
    if (rng_.chance(0.5)) {
      const auto field = fractal_noise(h_, w_, 128, 2, 0.5, rng_);
      const double amount = rng_.uniform(100, 500);
      const Spectrum weight{1.0, 0.7, 0.5, 0.3};
      for (size_t i = 0; i < n_; ++i) {
        const double a = amount * std::max(0.0, 1 + 0.4 * field[i]);
        for (int b = 0; b < kBands; ++b) px(b, i) += static_cast<float>(a * weight[b]);
      }
    }
  }

  // Gaussian sensor noise of about 1-2 % of the signal.
  void noise() {
    const double rel = rng_.uniform(0.008, 0.016);
    for (int b = 0; b < kBands; ++b) {
      for (size_t i = 0; i < n_; ++i) {
        float& v = px(b, i);
        v += static_cast<float>(rng_.normal() * (rel * std::max(v, 0.0f) + 8));
      }
    }
  }

  // About half the scenes get a few saturated pixels (65535), on the brightest targets.
  void saturate() {
    if (!rng_.chance(0.5)) return;
    const int count = rng_.integer(2, 40);
    const size_t pool = std::min(n_, static_cast<size_t>(count) * 3);
    std::vector<std::pair<float, uint32_t>> bright(n_);
    for (size_t i = 0; i < n_; ++i) {
      float sum = 0;
      for (int b = 0; b < kBands; ++b) sum += px(b, i);
      bright[i] = {-sum, static_cast<uint32_t>(i)};
    }
    std::partial_sort(bright.begin(), bright.begin() + pool, bright.end());
    for (int k = 0; k < count; ++k) {
      const size_t pick = static_cast<size_t>(rng_.integer(0, static_cast<int>(pool) - 1));
      const size_t i = bright[pick].second;
      for (int b = 0; b < kBands; ++b)
        if (b < 3 || rng_.chance(0.5)) px(b, i) = 65535.0f;
    }
  }

  const SyntheticOptions& opt_;
  int h_, w_;
  size_t n_;
  Rng rng_;
  Spectrum sea_{};
  std::vector<float> img_, swell_, texture_, land_;
  std::vector<uint8_t> occupied_, vessel_occ_, mask_;
  std::vector<Mole> moles_;
};

void check(const SyntheticOptions& opt) {
  if (opt.scenes < 0) throw Error("synthetic.scenes: must be at least 0");
  if (opt.height < 8 || opt.height > 16384)
    throw Error("synthetic.height: must be between 8 and 16384");
  if (opt.width < 8 || opt.width > 16384)
    throw Error("synthetic.width: must be between 8 and 16384");
  if (opt.min_vessels < 0) throw Error("synthetic.min_vessels: must be at least 0");
  if (opt.max_vessels < opt.min_vessels)
    throw Error("synthetic.max_vessels: must be at least min_vessels");
  if (opt.max_vessels > 10000) throw Error("synthetic.max_vessels: must be at most 10000");
}

}  // namespace

Scene make_synthetic_scene(const SyntheticOptions& opt, int index) {
  check(opt);
  if (index < 0 || index >= opt.scenes)
    throw Error("synthetic: scene index " + std::to_string(index) + " out of range (" +
                std::to_string(opt.scenes) + " scenes)");
  return SceneBuilder(opt, index).build(index);
}

std::vector<Scene> make_synthetic(const SyntheticOptions& opt) {
  check(opt);
  std::vector<Scene> scenes(opt.scenes);
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < opt.scenes; ++i) scenes[i] = SceneBuilder(opt, i).build(i);
  return scenes;
}

}  // namespace dalnas
