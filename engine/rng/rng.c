/* Host side of the engine RNG (RNG.md): Random123's Philox, then the mapping. */
#include "rng.h"

#include <math.h>

#include <Random123/philox.h>

#define U52_MASK ((UINT64_C(1) << 52) - 1)

void bnm_rng_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
    philox4x32_key_t k = {{key[0], key[1]}};
    philox4x32_ctr_t r = philox4x32_R(10, c, k);
    for (int i = 0; i < 4; i++)
        out[i] = r.v[i];
}

void bnm_rng_block(uint64_t seed, uint32_t noise_id, uint32_t node, uint64_t step,
                   uint32_t stream, uint32_t out[4])
{
    const uint32_t ctr[4] = {
        node,
        noise_id,
        (uint32_t)step,
        ((uint32_t)(step >> 32) & 0xFFFFu) | (stream << 16),
    };
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    bnm_rng_philox4x32_10(ctr, key, out);
}

static uint64_t top52(uint32_t hi, uint32_t lo)
{
    return ((uint64_t)hi << 20) | (lo >> 12);
}

/* (2k+1)/2^53 is exact in double: 2k+1 < 2^53. */
static double unit_of(uint64_t k)
{
    return ldexp((double)(2 * k + 1), -53);
}

double bnm_rng_unit(uint32_t hi, uint32_t lo)
{
    return unit_of(top52(hi, lo));
}

/* cos(pi*t) for t in [0, 1], reduced so that the result keeps its relative accuracy
 * near the zero at t = 1/2 (the subtractions are exact by Sterbenz's lemma). The
 * device uses cospi(); both approximate the same value to a few ulp. */
static double cos_pi(double t)
{
    if (t <= 0.25)
        return cos(M_PI * t);
    if (t <= 0.75)
        return sin(M_PI * (0.5 - t));
    return -cos(M_PI * (1.0 - t));
}

double bnm_rng_normal(uint64_t seed, uint32_t noise_id, uint32_t node, uint64_t step,
                      uint32_t stream)
{
    uint32_t r[4];
    bnm_rng_block(seed, noise_id, node, step, stream, r);
    uint64_t k1 = top52(r[0], r[1]);
    uint64_t k2 = top52(r[2], r[3]);
    /* u1 >= 1/2 (top bit set): ln(u1) = log1p(-(1 - u1)), and 1 - u1 is the unit of the
     * complemented bits, exactly. Keeps ln(u1) relatively accurate near u1 = 1, where
     * the radius is small. */
    double l = (k1 >> 51) ? log1p(-unit_of(k1 ^ U52_MASK)) : log(unit_of(k1));
    /* cos(2 pi u2) = cos(2 pi (1 - u2)): use w = min(u2, 1 - u2), again exactly. */
    double w = (k2 >> 51) ? unit_of(k2 ^ U52_MASK) : unit_of(k2);
    return sqrt(-2.0 * l) * cos_pi(2.0 * w);
}

double bnm_rng_uniform(uint64_t seed, uint32_t noise_id, uint32_t node, uint64_t step,
                       uint32_t stream)
{
    uint32_t r[4];
    bnm_rng_block(seed, noise_id, node, step, stream, r);
    return bnm_rng_unit(r[0], r[1]);
}

uint32_t bnm_rng_stream_noise(int noise_slot)
{
    return 2u * (uint32_t)noise_slot;
}

uint32_t bnm_rng_stream_init(int state_index)
{
    return 2u * (uint32_t)state_index + 1u;
}
