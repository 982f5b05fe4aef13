// Decode and encode throughput over a generated program whose instruction
// mix resembles compiled XDP code (loads/stores and moves dominate, then
// jumps and ALU, a few ld_imm64 map references, helper calls and exits).
// Reports items_per_second = instructions per second.
#include <benchmark/benchmark.h>

#include <random>

#include "translator/isa/codec.hpp"

namespace xo::isa {
namespace {

std::vector<Insn> realistic_program(std::size_t n) {
  std::mt19937 rng(1);
  auto reg = [&] { return static_cast<Reg>(rng() % 10); };
  auto off = [&] { return static_cast<std::int16_t>(rng() % 64 - 32); };
  std::vector<Insn> p;
  p.reserve(n);
  while (p.size() < n) {
    const unsigned pick = rng() % 100;
    if (pick < 22) {
      p.push_back(Load{Size(1u << (rng() % 4)), false, reg(), reg(), off()});
    } else if (pick < 32) {
      p.push_back(Store{Size::DW, kFramePointer, static_cast<std::int16_t>(-8 * (1 + rng() % 8)),
                        Reg{reg()}});
    } else if (pick < 50) {
      p.push_back(
          Bin{AluOp::Mov, rng() % 4 != 0, reg(),
              rng() % 2 ? Value{reg()} : Value{Imm{static_cast<std::int32_t>(rng() % 256)}}});
    } else if (pick < 66) {
      const AluOp ops[] = {AluOp::Add, AluOp::Sub, AluOp::And, AluOp::Or,
                           AluOp::Lsh, AluOp::Rsh, AluOp::Xor};
      p.push_back(
          Bin{ops[rng() % 7], rng() % 3 != 0, reg(),
              rng() % 2 ? Value{reg()} : Value{Imm{static_cast<std::int32_t>(rng() % 64)}}});
    } else if (pick < 84) {
      p.push_back(Jmp{Cond(rng() % 11), rng() % 4 == 0, reg(),
                      rng() % 2 ? Value{reg()} : Value{Imm{static_cast<std::int32_t>(rng() % 100)}},
                      off()});
    } else if (pick < 88) {
      p.push_back(LoadMapFd{1, static_cast<std::int32_t>(rng() % 4)});
    } else if (pick < 91) {
      p.push_back(LoadImm64{reg(), (std::uint64_t{rng()} << 32) | rng()});
    } else if (pick < 95) {
      p.push_back(Call{static_cast<std::int32_t>(1 + rng() % 200)});
    } else if (pick < 98) {
      p.push_back(Ja{off(), false});
    } else {
      p.push_back(Exit{});
    }
  }
  return p;
}

// state.range(0) instructions: 512 is a typical XDP program, 4096 a big one.
std::vector<Insn> program(const benchmark::State& state) {
  return realistic_program(static_cast<std::size_t>(state.range(0)));
}

void BM_Decode(benchmark::State& state) {
  const std::vector<Insn> insns = program(state);
  const std::vector<RawInsn> slots = encode(insns);
  for (auto _ : state) {
    auto decoded = decode(slots);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * insns.size()));
}

void BM_Encode(benchmark::State& state) {
  const std::vector<Insn> insns = program(state);
  for (auto _ : state) {
    auto encoded = encode(insns);
    benchmark::DoNotOptimize(encoded);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * insns.size()));
}

// The figure the project tracks: decode then encode, per instruction.
void BM_DecodeEncode(benchmark::State& state) {
  const std::vector<Insn> insns = program(state);
  const std::vector<RawInsn> slots = encode(insns);
  for (auto _ : state) {
    auto decoded = decode(slots);
    auto encoded = encode(decoded.value());
    benchmark::DoNotOptimize(encoded);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * insns.size()));
}

// The same size as BM_DecodeEncode/4096, but made of state.range(0)-insn
// blocks repeated: the same bytes and memory footprint with a sequence the
// branch predictor can learn. Tells memory cost from misprediction cost.
void BM_DecodeEncodeRepeated(benchmark::State& state) {
  const std::vector<Insn> block = realistic_program(static_cast<std::size_t>(state.range(0)));
  std::vector<Insn> insns;
  while (insns.size() < 4096) insns.insert(insns.end(), block.begin(), block.end());
  const std::vector<RawInsn> slots = encode(insns);
  for (auto _ : state) {
    auto decoded = decode(slots);
    auto encoded = encode(decoded.value());
    benchmark::DoNotOptimize(encoded);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * insns.size()));
}

BENCHMARK(BM_Decode)->Arg(512)->Arg(4096);
BENCHMARK(BM_DecodeEncodeRepeated)->Arg(512);
BENCHMARK(BM_Encode)->Arg(512)->Arg(4096);
BENCHMARK(BM_DecodeEncode)->Arg(512)->Arg(4096);

}  // namespace
}  // namespace xo::isa
