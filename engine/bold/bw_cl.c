/* Device side of the Balloon-Windkessel model, as OpenCL C 1.2 text for the batch
 * kernels (interface in clbnm/bold.h).
 *
 * Precision. In float, f, nu and q sit within a few percent of 1, where one ulp is
 * 1.2e-7: stored as such, every step would round away most of its h/tau-sized
 * increment, and the terms f - nu^(1/alpha) and f(1 - (1-rho)^(1/f))/rho - nu^(1/alpha)
 * q/nu are differences of numbers near 1. So the state is kept as deviations from rest
 * (df = f - 1, dnu = nu - 1, dq = q - 1) and every term is rewritten without
 * cancellation, keeping analysis.md 3.3's update order (new x in f, old f and old nu in
 * nu, old f, new nu and old q in q):
 *   nu^(1/alpha) - 1          = expm1(3.125 log1p(dnu))      (1/alpha = 3.125 exactly)
 *   nu^(1/alpha) q/nu - 1     = r + dq + r dq,  r = expm1(2.125 log1p(dnu))
 *   f(1 - (1-rho)^(1/f))/rho - 1
 *       = (-(1-rho) expm1(-ln(1-rho) df/f) - df expm1(ln(1-rho)/f)) / rho
 * (the last from (1-rho)^(1/f) = (1-rho) exp(-ln(1-rho) df/f); its two terms are
 * -0.27 df and +0.34 df, a cancellation of about 2 bits instead of 20). log1p, expm1
 * are 2-3 ulp in OpenCL, whereas pow is allowed 16 ulp and f - pow(nu, 3.125) near rest
 * is again a difference of two numbers near 1. Rest (all fields zero) is an exact fixed
 * point: each term is 0 there with no rounding.
 *
 * Compensation. Even as deviations, an increment h x ~ 1e-5 added to df ~ 0.08 (ulp
 * 7.5e-9 in float) loses up to 4e-4 of itself, and in a smooth transient those losses
 * have the same sign for hundreds of steps: after a step input the float error reached
 * 3-4e-5 of the BOLD scale. Each update is therefore a Kahan sum carrying its own
 * compensation term in the state (four more numbers per node), which removes the
 * accumulation: over 900 s at bw_dt = 1 ms, float stays within 2.2e-7 of the scale and
 * double within 1e-15 of a long-double solution (tests/bold), while the literal form
 * measured 1e-4 in float, and 7.7e-13 in double under a constant input (its states near
 * 1 ignore increments below half an ulp, a dead band).
 *
 * Constants. One text serves float and double, so a constant cannot be a plain literal
 * (a double literal without cl_khr_fp64 draws a warning, a float literal is short in
 * double). Each is the sum of three float literals hi + mid + lo, the exact split of
 * the host double value: summed in double it is that value exactly, summed in float it
 * rounds to hi, the correctly rounded float (tests/bold checks both bit for bit). */
#include "clbnm/bold.h"

const char bnm_bold_cl_source[] =
    "/* clBNM Balloon-Windkessel model (analysis.md 3; engine/bold/bw_cl.c). */\n"
    "#define NMM_BW_C3(a, b, c) ((nmm_real)(a) + (nmm_real)(b) + (nmm_real)(c))\n"
    "#define NMM_BW_KAPPA NMM_BW_C3(0x1.89d89ep+0f, -0x1.d89d8ap-26f, 0.0f)\n"
    "#define NMM_BW_GAMMA NMM_BW_C3(0x1.3831f4p+1f, -0x1.f38320p-25f, 0x1.8p-50f)\n"
    "#define NMM_BW_TAU NMM_BW_C3(0x1.f5c290p-1f, -0x1.47ae14p-26f, -0x1p-51f)\n"
    "#define NMM_BW_RHO NMM_BW_C3(0x1.5c28f6p-2f, -0x1.eb851ep-29f, -0x1p-54f)\n"
    "#define NMM_BW_OMR NMM_BW_C3(0x1.51eb86p-1f, -0x1.c28f5cp-26f, -0x1p-52f)\n"
    "#define NMM_BW_LN_OMR NMM_BW_C3(-0x1.a97ce2p-2f, 0x1.299d22p-27f, -0x1p-52f)\n"
    "#define NMM_BW_V0 ((nmm_real)2.0f)\n"
    "\n"
    "#define NMM_BW_NFIELD 8u\n"
    "\n"
    "/* x, the deviations from rest, and the Kahan compensation of each. */\n"
    "typedef struct nmm_bw {\n"
    "    nmm_real x, df, dnu, dq;\n"
    "    nmm_real cx, cdf, cdnu, cdq;\n"
    "} nmm_bw;\n"
    "\n"
    "nmm_bw nmm_bw_rest(void)\n"
    "{\n"
    "    nmm_bw s;\n"
    "    s.x = s.df = s.dnu = s.dq = (nmm_real)0.0f;\n"
    "    s.cx = s.cdf = s.cdnu = s.cdq = (nmm_real)0.0f;\n"
    "    return s;\n"
    "}\n"
    "\n"
    "/* Field j of the state at p[j * stride], j < NMM_BW_NFIELD. */\n"
    "nmm_bw nmm_bw_load(__global const nmm_real *p, ulong stride)\n"
    "{\n"
    "    nmm_bw s;\n"
    "    s.x = p[0];\n"
    "    s.df = p[stride];\n"
    "    s.dnu = p[2 * stride];\n"
    "    s.dq = p[3 * stride];\n"
    "    s.cx = p[4 * stride];\n"
    "    s.cdf = p[5 * stride];\n"
    "    s.cdnu = p[6 * stride];\n"
    "    s.cdq = p[7 * stride];\n"
    "    return s;\n"
    "}\n"
    "\n"
    "void nmm_bw_store(__global nmm_real *p, ulong stride, nmm_bw s)\n"
    "{\n"
    "    p[0] = s.x;\n"
    "    p[stride] = s.df;\n"
    "    p[2 * stride] = s.dnu;\n"
    "    p[3 * stride] = s.dq;\n"
    "    p[4 * stride] = s.cx;\n"
    "    p[5 * stride] = s.cdf;\n"
    "    p[6 * stride] = s.cdnu;\n"
    "    p[7 * stride] = s.cdq;\n"
    "}\n"
    "\n"
    "/* (1 + d)^p - 1 without cancellation. */\n"
    "nmm_real nmm_bw_powm1(nmm_real d, nmm_real p)\n"
    "{\n"
    "    return expm1(p * log1p(d));\n"
    "}\n"
    "\n"
    "/* s + inc, Kahan-compensated through *c. */\n"
    "nmm_real nmm_bw_add(nmm_real s, nmm_real inc, nmm_real *c)\n"
    "{\n"
    "    const nmm_real y = inc - *c;\n"
    "    const nmm_real t = s + y;\n"
    "    *c = (t - s) - y;\n"
    "    return t;\n"
    "}\n"
    "\n"
    "nmm_bw nmm_bw_step(nmm_bw s, nmm_real z, nmm_real h)\n"
    "{\n"
    "    const nmm_real ht = h / NMM_BW_TAU;\n"
    "    const nmm_real f = (nmm_real)1.0f + s.df;\n"
    "    nmm_bw n = s;\n"
    "    n.x = nmm_bw_add(s.x, h * (z - NMM_BW_KAPPA * s.x - NMM_BW_GAMMA * s.df), &n.cx);\n"
    "    n.df = nmm_bw_add(s.df, h * n.x, &n.cdf);\n"
    "    /* f - nu^(1/alpha), old f and old nu */\n"
    "    n.dnu = nmm_bw_add(s.dnu, ht * (s.df - nmm_bw_powm1(s.dnu, (nmm_real)3.125f)), &n.cdnu);\n"
    "    /* f (1 - (1-rho)^(1/f)) / rho - 1, old f */\n"
    "    const nmm_real g = (-NMM_BW_OMR * expm1(-NMM_BW_LN_OMR * s.df / f)\n"
    "                        - s.df * expm1(NMM_BW_LN_OMR / f)) / NMM_BW_RHO;\n"
    "    /* nu^(1/alpha) q / nu - 1, new nu and old q */\n"
    "    const nmm_real r = nmm_bw_powm1(n.dnu, (nmm_real)2.125f);\n"
    "    n.dq = nmm_bw_add(s.dq, ht * (g - (r + s.dq + r * s.dq)), &n.cdq);\n"
    "    return n;\n"
    "}\n"
    "\n"
    "/* V0 (k1 (1 - q) + k2 (1 - q/nu) + k3 (1 - nu)) */\n"
    "nmm_real nmm_bw_bold(nmm_bw s, nmm_real k1, nmm_real k2, nmm_real k3)\n"
    "{\n"
    "    return NMM_BW_V0 * (k1 * -s.dq + k2 * ((s.dnu - s.dq) / ((nmm_real)1.0f + s.dnu))\n"
    "                        + k3 * -s.dnu);\n"
    "}\n";
