#include "gc/pprof.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <unordered_map>

#include "base/math.h"
#include "gc/symbolize.h"

namespace gcheap::internal {

namespace {

// profile.proto's field numbers (github.com/google/pprof/proto).
enum ProfileField {
  kSampleType = 1,
  kSample = 2,
  kMapping = 3,
  kLocation = 4,
  kFunction = 5,
  kStringTable = 6,
  kDropFrames = 7,
  kTimeNanos = 9,
  kPeriodType = 11,
  kPeriod = 12,
};
enum ValueTypeField { kVtType = 1, kVtUnit = 2 };
enum SampleField { kSampleLocationId = 1, kSampleValue = 2, kSampleLabel = 3 };
enum LabelField { kLabelKey = 1, kLabelNum = 3, kLabelNumUnit = 4 };
enum MappingField {
  kMapId = 1,
  kMapStart = 2,
  kMapLimit = 3,
  kMapOffset = 4,
  kMapFilename = 5,
  kMapHasFunctions = 7,
  kMapHasFilenames = 8,
  kMapHasLineNumbers = 9,
};
enum LocationField {
  kLocId = 1,
  kLocMappingId = 2,
  kLocAddress = 3,
  kLocLine = 4
};
enum LineField { kLineFunctionId = 1, kLineLine = 2 };
enum FunctionField {
  kFnId = 1,
  kFnName = 2,
  kFnSystemName = 3,
  kFnFilename = 4,
  kFnStartLine = 5
};

// A protobuf message being written.
class Message {
 public:
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<char>(v));
  }
  void Tag(int field, int wire_type) {
    Varint(uint64_t(field) << 3 | wire_type);
  }
  // A varint field; 0 is the default and is left out.
  void Uint(int field, uint64_t v) {
    if (v == 0) return;
    Tag(field, 0);
    Varint(v);
  }
  void Int(int field, int64_t v) { Uint(field, static_cast<uint64_t>(v)); }
  void Bytes(int field, const std::string& b) {
    Tag(field, 2);
    Varint(b.size());
    buf_ += b;
  }
  void Sub(int field, const Message& m) { Bytes(field, m.buf_); }
  // A packed repeated varint field.
  void Packed(int field, const std::vector<uint64_t>& vs) {
    Message inner;
    for (uint64_t v : vs) inner.Varint(v);
    Bytes(field, inner.buf_);
  }
  const std::string& data() const { return buf_; }

 private:
  std::string buf_;
};

class Strings {
 public:
  Strings() { Index(""); }
  int64_t Index(const std::string& s) {
    auto [it, fresh] =
        index_.try_emplace(s, static_cast<int64_t>(list_.size()));
    if (fresh) list_.push_back(s);
    return it->second;
  }
  const std::vector<std::string>& list() const { return list_; }

 private:
  std::map<std::string, int64_t> index_;
  std::vector<std::string> list_;
};

// Go's scaleHeapSample: an object of `size` bytes was sampled with
// probability 1 - exp(-size/rate); scales sampled counts to estimates.
void Scale(uint64_t count, uint64_t bytes, int64_t rate, int64_t* count_out,
           int64_t* bytes_out) {
  if (count == 0 || bytes == 0) {
    *count_out = 0;
    *bytes_out = 0;
    return;
  }
  if (rate <= 1) {
    *count_out = static_cast<int64_t>(count);
    *bytes_out = static_cast<int64_t>(bytes);
    return;
  }
  const double avg = static_cast<double>(bytes) / static_cast<double>(count);
  const double scale = 1 / (1 - Exp(-avg / static_cast<double>(rate)));
  *count_out = static_cast<int64_t>(static_cast<double>(count) * scale);
  *bytes_out = static_cast<int64_t>(static_cast<double>(bytes) * scale);
}

}  // namespace

std::string EncodeHeapProfileProto(const std::vector<MemProfileRecord>& records,
                                   int64_t rate) {
  Message profile;
  Strings strings;
  auto value_type = [&](int field, const char* type, const char* unit) {
    Message vt;
    vt.Int(kVtType, strings.Index(type));
    vt.Int(kVtUnit, strings.Index(unit));
    profile.Sub(field, vt);
  };
  value_type(kSampleType, "alloc_objects", "count");
  value_type(kSampleType, "alloc_space", "bytes");
  value_type(kSampleType, "inuse_objects", "count");
  value_type(kSampleType, "inuse_space", "bytes");

  Symbolizer symbols;

  std::unordered_map<uint64_t, uint64_t> location_ids;  // address -> id
  std::vector<uint64_t> location_order;
  const int64_t bytes_key = strings.Index("bytes");
  for (const MemProfileRecord& r : records) {
    std::vector<uint64_t> locs;
    for (uintptr_t pc : r.stack) {
      const uint64_t addr = pc - 1;  // the call, not the return address
      auto [it, fresh] =
          location_ids.try_emplace(addr, location_ids.size() + 1);
      if (fresh) location_order.push_back(addr);
      locs.push_back(it->second);
    }
    int64_t alloc_n, alloc_b, inuse_n, inuse_b;
    Scale(r.allocs, r.allocs * r.size, rate, &alloc_n, &alloc_b);
    const uint64_t inuse = r.allocs > r.frees ? r.allocs - r.frees : 0;
    Scale(inuse, inuse * r.size, rate, &inuse_n, &inuse_b);
    Message sample;
    sample.Packed(kSampleLocationId, locs);
    sample.Packed(
        kSampleValue,
        {static_cast<uint64_t>(alloc_n), static_cast<uint64_t>(alloc_b),
         static_cast<uint64_t>(inuse_n), static_cast<uint64_t>(inuse_b)});
    Message label;
    label.Int(kLabelKey, bytes_key);
    label.Int(kLabelNum, static_cast<int64_t>(r.size));
    label.Int(kLabelNumUnit, bytes_key);
    sample.Sub(kSampleLabel, label);
    profile.Sub(kSample, sample);
  }
  const std::vector<Symbolizer::Segment>& segs = symbols.segments();
  for (size_t i = 0; i < segs.size(); i++) {
    Message m;
    m.Uint(kMapId, i + 1);
    m.Uint(kMapStart, segs[i].start);
    m.Uint(kMapLimit, segs[i].limit);
    m.Uint(kMapOffset, segs[i].file_offset);
    m.Int(kMapFilename, strings.Index(segs[i].file));
    m.Uint(kMapHasFunctions, 1);
    m.Uint(kMapHasFilenames, 1);
    m.Uint(kMapHasLineNumbers, 1);
    profile.Sub(kMapping, m);
  }
  std::map<std::string, uint64_t> function_ids;  // by symbol
  for (uint64_t addr : location_order) {
    Message loc;
    loc.Uint(kLocId, location_ids[addr]);
    loc.Uint(kLocMappingId, static_cast<uint64_t>(symbols.SegmentOf(addr) + 1));
    loc.Uint(kLocAddress, addr);
    Symbolizer::Frame frame;
    if (symbols.Lookup(addr, &frame)) {
      auto [it, fresh] =
          function_ids.try_emplace(frame.symbol, function_ids.size() + 1);
      if (fresh) {
        Message fn;
        fn.Uint(kFnId, it->second);
        fn.Int(kFnName, strings.Index(frame.name));
        fn.Int(kFnSystemName, strings.Index(frame.symbol));
        fn.Int(kFnFilename, strings.Index(frame.function_file));
        fn.Int(kFnStartLine, frame.function_line);
        profile.Sub(kFunction, fn);
      }
      Message line;
      line.Uint(kLineFunctionId, it->second);
      line.Int(kLineLine, frame.line);
      loc.Sub(kLocLine, line);
    }
    profile.Sub(kLocation, loc);
  }
  Message period_type;
  period_type.Int(kVtType, strings.Index("space"));
  period_type.Int(kVtUnit, strings.Index("bytes"));
  const int64_t drop_frames = strings.Index("gcheap::.*|gch_.*");
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  for (const std::string& s : strings.list()) profile.Bytes(kStringTable, s);
  // pprof drops the runtime's frames (and inlined fast paths) from each
  // stack: a sample's leaf is the program's function that allocated.
  profile.Int(kDropFrames, drop_frames);
  profile.Int(kTimeNanos, int64_t{now.tv_sec} * 1000000000 + now.tv_nsec);
  profile.Sub(kPeriodType, period_type);
  profile.Int(kPeriod, rate);
  return profile.data();
}

uint32_t Crc32(const void* data, size_t n) {
  static const auto* table = [] {
    auto* t = new uint32_t[256];
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

std::string Gzip(const std::string& data) {
  // RFC 1952 header: deflate, no flags, no time, OS unknown.
  std::string out("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10);
  // RFC 1951 stored blocks of at most 65535 bytes (at least one block).
  size_t at = 0;
  do {
    const size_t n = std::min<size_t>(data.size() - at, 65535);
    const bool last = at + n == data.size();
    out.push_back(last ? 1 : 0);  // BFINAL, BTYPE=00; then byte-aligned
    out.push_back(static_cast<char>(n & 0xff));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(~n & 0xff));
    out.push_back(static_cast<char>((~n >> 8) & 0xff));
    out.append(data, at, n);
    at += n;
  } while (at < data.size());
  auto le32 = [&](uint32_t v) {
    for (int i = 0; i < 4; i++) out.push_back(static_cast<char>(v >> (8 * i)));
  };
  le32(Crc32(data.data(), data.size()));
  le32(static_cast<uint32_t>(data.size()));
  return out;
}

std::string EncodeHeapProfile(const std::vector<MemProfileRecord>& records,
                              int64_t rate) {
  return Gzip(EncodeHeapProfileProto(records, rate));
}

}  // namespace gcheap::internal
