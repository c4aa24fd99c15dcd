// log and exp without libm, for the two places the runtime needs them
// (a heap profile's sampling distances and its scaling): a program linked
// with gcheap then loads no libm it does not use itself, which is a third
// of a megabyte of resident memory for a small interpreter. Accurate to a
// few units in the last place of a double (tests in base/math_test.cc),
// which is far more than sampling needs.
#ifndef GCHEAP_BASE_MATH_H_
#define GCHEAP_BASE_MATH_H_

#include <cstdint>
#include <cstring>

namespace gcheap::internal {

// ln(x) for a finite x > 0 (anything else: 0).
inline double Log(double x) {
  if (!(x > 0) || x > 1.7976931348623157e308) return 0;
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int e = static_cast<int>((bits >> 52) & 0x7ff);
  if (e == 0) {  // subnormal: scale into the normal range first
    return Log(x * 0x1p54) - 54 * 0.6931471805599453;
  }
  // x = m * 2^k with m in [sqrt(1/2), sqrt(2)).
  int k = e - 1023;
  bits = (bits & ((uint64_t{1} << 52) - 1)) | (uint64_t{1023} << 52);
  double m;
  std::memcpy(&m, &bits, sizeof m);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    k++;
  }
  // ln(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172.
  const double s = (m - 1) / (m + 1), s2 = s * s;
  double term = s, sum = 0;
  for (int i = 1; i <= 31; i += 2) {
    sum += term / i;
    term *= s2;
  }
  return 2 * sum + k * 0.6931471805599453;
}

// e^x for x in [-700, 700] (clamped to it).
inline double Exp(double x) {
  if (x != x) return x;
  if (x > 700) x = 700;
  if (x < -700) x = -700;
  // x = k ln2 + r, |r| <= ln2 / 2; e^x = 2^k e^r.
  const double ln2 = 0.6931471805599453;
  const double kf = x / ln2 + (x < 0 ? -0.5 : 0.5);
  const int k = static_cast<int>(kf);
  const double r = x - k * ln2;
  double term = 1, sum = 1;
  for (int i = 1; i <= 20; i++) {
    term *= r / i;
    sum += term;
  }
  const uint64_t bits = static_cast<uint64_t>(k + 1023) << 52;
  double scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return sum * scale;
}

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_MATH_H_
