/* tensor_types.h — the tensor element types a GGUF file may hold, numbered
 * as GGUF numbers them, with each type's block geometry. A quantized type
 * stores blocks of block_elems values in block_bytes bytes; a plain type has
 * block_elems == 1. Shared by the GGUF reader (to check sizes) and the
 * kernels (to walk rows). */
#ifndef HEARTH_TENSOR_TYPES_H
#define HEARTH_TENSOR_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  TT_F32 = 0,
  TT_F16 = 1,
  TT_Q4_0 = 2,
  TT_Q4_1 = 3,
  TT_Q5_0 = 6,
  TT_Q5_1 = 7,
  TT_Q8_0 = 8,
  TT_Q8_1 = 9,
  TT_Q2_K = 10,
  TT_Q3_K = 11,
  TT_Q4_K = 12,
  TT_Q5_K = 13,
  TT_Q6_K = 14,
  TT_Q8_K = 15,
  TT_I8 = 24,
  TT_I16 = 25,
  TT_I32 = 26,
  TT_I64 = 27,
  TT_F64 = 28,
  TT_BF16 = 30,
  TT_COUNT_ = 40 /* bound on the numbering, not a type */
} tensor_type;

typedef struct {
  const char *name;   /* as llama.cpp prints it: "q4_0", "f16" */
  uint32_t block_elems; /* 0 means unknown/unsupported type */
  uint32_t block_bytes;
} tensor_type_info;

static inline tensor_type_info tensor_type_get(uint32_t t) {
  static const tensor_type_info infos[TT_COUNT_] = {
      [TT_F32] = {"f32", 1, 4},       [TT_F16] = {"f16", 1, 2},
      [TT_Q4_0] = {"q4_0", 32, 18},   [TT_Q4_1] = {"q4_1", 32, 20},
      [TT_Q5_0] = {"q5_0", 32, 22},   [TT_Q5_1] = {"q5_1", 32, 24},
      [TT_Q8_0] = {"q8_0", 32, 34},   [TT_Q8_1] = {"q8_1", 32, 36},
      [TT_Q2_K] = {"q2_K", 256, 84},  [TT_Q3_K] = {"q3_K", 256, 110},
      [TT_Q4_K] = {"q4_K", 256, 144}, [TT_Q5_K] = {"q5_K", 256, 176},
      [TT_Q6_K] = {"q6_K", 256, 210}, [TT_Q8_K] = {"q8_K", 256, 292},
      [TT_I8] = {"i8", 1, 1},         [TT_I16] = {"i16", 1, 2},
      [TT_I32] = {"i32", 1, 4},       [TT_I64] = {"i64", 1, 8},
      [TT_F64] = {"f64", 1, 8},       [TT_BF16] = {"bf16", 1, 2},
  };
  if (t >= TT_COUNT_ || infos[t].block_elems == 0) return (tensor_type_info){NULL, 0, 0};
  return infos[t];
}

#endif
