/* Counter-based draws for the synthetic data (synth.h, "Random numbers"). */
#include <Random123/philox.h>
#include <math.h>

#include "synth_internal.h"

#define SYNTH_TAG UINT32_C(0x534e5448) /* "SNTH": keeps these counters apart from others */

void bnm_synth_block(uint64_t seed, uint32_t stream, uint32_t a, uint32_t b, uint32_t out[4])
{
    philox4x32_ctr_t ctr = {{a, b, stream, SYNTH_TAG}};
    philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t r = philox4x32_R(10, ctr, key);
    for (int k = 0; k < 4; k++)
        out[k] = r.v[k];
}

double bnm_synth_unit(uint32_t hi, uint32_t lo)
{
    uint64_t k = ((uint64_t)hi << 32 | lo) >> 11;
    return ((double)k + 0.5) / 9007199254740992.0; /* 2^53 */
}

double bnm_synth_normal(const uint32_t block[4])
{
    double u1 = bnm_synth_unit(block[0], block[1]);
    double u2 = bnm_synth_unit(block[2], block[3]);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
