/* Shared by the synthetic-data sources: the counter-based random numbers of synth.h. */
#ifndef CLBNM_SYNTH_INTERNAL_H
#define CLBNM_SYNTH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "clbnm/synth.h"

/* Streams of synth.h ("Random numbers"); part of the documented rule, never renumber. */
enum { SYNTH_STREAM_LAYOUT = 1, SYNTH_STREAM_NOISE = 2, SYNTH_STREAM_CURVATURE = 3 };

/* The four words of the Philox4x32-10 block at counter (a, b, stream, "SNTH"). */
void bnm_synth_block(uint64_t seed, uint32_t stream, uint32_t a, uint32_t b, uint32_t out[4]);
/* (k + 1/2) / 2^53 for k the top 53 bits of hi:lo: in (0, 1), never 0 or 1. */
double bnm_synth_unit(uint32_t hi, uint32_t lo);
/* N(0,1) by Box-Muller from the whole block. */
double bnm_synth_normal(const uint32_t block[4]);

#endif
