namespace NativeGrad.Backends;

/// <summary>
/// Double-precision scalar functions the BCL lacks or implements inaccurately: erf/erfc (a port of the Sun FDLIBM
/// s_erf.c algorithm), expm1 and log1p accurate for tiny arguments (<c>double.ExpM1</c>/<c>double.LogP1</c> are
/// <c>exp(x) - 1</c>/<c>log(x + 1)</c> and lose all precision there), and the numerically stable activation
/// functions. The float kernels evaluate these in double and round once.
/// </summary>
internal static class ScalarMath
{
    /// <summary>log(1 + x), accurate for tiny |x| (Kahan's trick: the rounding error of 1 + x is compensated).</summary>
    public static double Log1p(double x)
    {
        double u = 1.0 + x;
        if (u == 1.0) return x;                       // |x| < eps/2 (also keeps the sign of -0)
        if (double.IsPositiveInfinity(u)) return u;   // x = +inf
        return Math.Log(u) * (x / (u - 1.0));         // x <= -1 gives -inf or NaN through Math.Log; NaN stays NaN
    }

    /// <summary>exp(x) - 1, accurate for tiny |x| (Kahan's trick).</summary>
    public static double Expm1(double x)
    {
        if (Math.Abs(x) < 1e-5) return x + 0.5 * x * x + x * x * x * (1.0 / 6.0); // also keeps the sign of -0
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        if (um1 == -1.0) return -1.0;                 // x -> -inf
        if (double.IsPositiveInfinity(u)) return u;   // overflow / +inf
        if (double.IsNaN(u)) return u;
        return um1 * x / Math.Log(u);
    }

    /// <summary>1 / (1 + exp(-x)) without overflow for large |x|.</summary>
    public static double Sigmoid(double x)
    {
        if (x >= 0) return 1.0 / (1.0 + Math.Exp(-x));
        double e = Math.Exp(x);                       // NaN x takes this branch and stays NaN
        return e / (1.0 + e);
    }

    /// <summary>log(1 + exp(z)) computed stably: max(z, 0) + log1p(exp(-|z|)).</summary>
    public static double Log1pExp(double z)
    {
        if (z > 0) return z + Log1p(Math.Exp(-z));
        return Log1p(Math.Exp(z));                    // NaN stays NaN
    }

    /// <summary>torch.nn.functional.softplus(x, beta, threshold).</summary>
    public static double Softplus(double x, double beta, double threshold)
    {
        double z = x * beta;
        if (z > threshold) return x;
        return Log1pExp(z) / beta;
    }

    /// <summary>log(sigmoid(x)) = -softplus(-x), stable for large |x|.</summary>
    public static double LogSigmoid(double x)
    {
        if (x < 0) return x - Log1p(Math.Exp(x));
        return -Log1p(Math.Exp(-x));                  // NaN stays NaN
    }

    /// <summary>x * Phi(x) with Phi the standard normal CDF, via erfc so that the left tail keeps its precision.</summary>
    public static double Gelu(double x) => 0.5 * x * Erfc(-x * 0.70710678118654752440);

    /// <summary>0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x^3), evaluated as x * sigmoid(2u) (the same
    /// function without the cancellation of 1 + tanh(u) for negative x).</summary>
    public static double GeluTanh(double x)
    {
        const double Sqrt2OverPi = 0.79788456080286535588;
        double u = Sqrt2OverPi * (x + 0.044715 * x * x * x);
        return x * Sigmoid(2.0 * u);
    }

    /// <summary>x > 0 ? x : alpha * expm1(x).</summary>
    public static double Elu(double x, double alpha) => x > 0 ? x : alpha * Expm1(x);

    /// <summary>x * sigmoid(x).</summary>
    public static double Silu(double x) => x * Sigmoid(x);

    // ---- erf / erfc -------------------------------------------------------------------------------------------
    // Ported from FDLIBM s_erf.c:
    // ====================================================
    // Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
    //
    // Developed at SunPro, a Sun Microsystems, Inc. business.
    // Permission to use, copy, modify, and distribute this
    // software is freely granted, provided that this notice
    // is preserved.
    // ====================================================
    // Error < 1 ulp over the whole range. The intervals: [0, 0.84375) rational approximation of (erf(x) - x)/x;
    // [0.84375, 1.25) rational approximation around x = 1; [1.25, 28) erfc(x) = exp(-x^2 - 0.5625 + R/S)/x with
    // two rational approximations split at 1/0.35; beyond that the result saturates.

    private const double Erx = 8.45062911510467529297e-01;
    private const double Efx = 1.28379167095512586316e-01;
    private const double Efx8 = 1.02703333676410069053e+00;
    private const double Pp0 = 1.28379167095512558561e-01, Pp1 = -3.25042107247001499370e-01, Pp2 = -2.84817495755985104766e-02,
                         Pp3 = -5.77027029648944159157e-03, Pp4 = -2.37630166566501626084e-05;
    private const double Qq1 = 3.97917223959155352819e-01, Qq2 = 6.50222499887672944485e-02, Qq3 = 5.08130628187576562776e-03,
                         Qq4 = 1.32494738004321644526e-04, Qq5 = -3.96022827877536812320e-06;
    private const double Pa0 = -2.36211856075265944077e-03, Pa1 = 4.14856118683748331666e-01, Pa2 = -3.72207876035701323847e-01,
                         Pa3 = 3.18346619901161753674e-01, Pa4 = -1.10894694282396677476e-01, Pa5 = 3.54783043256182359371e-02,
                         Pa6 = -2.16637559486879084300e-03;
    private const double Qa1 = 1.06420880400844228286e-01, Qa2 = 5.40397917702171048937e-01, Qa3 = 7.18286544141962662868e-02,
                         Qa4 = 1.26171219808761642112e-01, Qa5 = 1.36370839120290507362e-02, Qa6 = 1.19844998467991074170e-02;
    private const double Ra0 = -9.86494403484714822705e-03, Ra1 = -6.93858572707181764372e-01, Ra2 = -1.05586262253232909814e+01,
                         Ra3 = -6.23753324503260060396e+01, Ra4 = -1.62396669462573470355e+02, Ra5 = -1.84605092906711035994e+02,
                         Ra6 = -8.12874355063065934246e+01, Ra7 = -9.81432934416914548592e+00;
    private const double Sa1 = 1.96512716674392571292e+01, Sa2 = 1.37657754143519042600e+02, Sa3 = 4.34565877475229228821e+02,
                         Sa4 = 6.45387271733267880336e+02, Sa5 = 4.29008140027567833386e+02, Sa6 = 1.08635005541779435134e+02,
                         Sa7 = 6.57024977031928170135e+00, Sa8 = -6.04244152148580987438e-02;
    private const double Rb0 = -9.86494292470009928597e-03, Rb1 = -7.99283237680523006574e-01, Rb2 = -1.77579549177547519889e+01,
                         Rb3 = -1.60636384855821916062e+02, Rb4 = -6.37566443368389627722e+02, Rb5 = -1.02509513161107724954e+03,
                         Rb6 = -4.83519191608651397019e+02;
    private const double Sb1 = 3.03380607434824582924e+01, Sb2 = 3.25792512996573918826e+02, Sb3 = 1.53672958608443695994e+03,
                         Sb4 = 3.19985821950859553908e+03, Sb5 = 2.55305040643316442583e+03, Sb6 = 4.74528541206955367215e+02,
                         Sb7 = -2.24409524465858183362e+01;

    private static int HighWord(double x) => (int)(BitConverter.DoubleToInt64Bits(x) >> 32);

    private static double ClearLowWord(double x) => BitConverter.Int64BitsToDouble(BitConverter.DoubleToInt64Bits(x) & unchecked((long)0xFFFFFFFF00000000UL));

    /// <summary>exp(-x^2 - 0.5625 + R/S) / x for x &gt;= 1.25, splitting x^2 so the exponent keeps full precision.</summary>
    private static double ErfcTail(double ax, int ix)
    {
        double s = 1.0 / (ax * ax);
        double r, sv;
        if (ix < 0x4006DB6E)
        {
            r = Ra0 + s * (Ra1 + s * (Ra2 + s * (Ra3 + s * (Ra4 + s * (Ra5 + s * (Ra6 + s * Ra7))))));
            sv = 1.0 + s * (Sa1 + s * (Sa2 + s * (Sa3 + s * (Sa4 + s * (Sa5 + s * (Sa6 + s * (Sa7 + s * Sa8)))))));
        }
        else
        {
            r = Rb0 + s * (Rb1 + s * (Rb2 + s * (Rb3 + s * (Rb4 + s * (Rb5 + s * Rb6)))));
            sv = 1.0 + s * (Sb1 + s * (Sb2 + s * (Sb3 + s * (Sb4 + s * (Sb5 + s * (Sb6 + s * Sb7))))));
        }
        double z = ClearLowWord(ax);
        return Math.Exp(-z * z - 0.5625) * Math.Exp((z - ax) * (z + ax) + r / sv) / ax;
    }

    /// <summary>The error function, &lt; 1 ulp.</summary>
    public static double Erf(double x)
    {
        int hx = HighWord(x);
        int ix = hx & 0x7fffffff;
        if (ix >= 0x7ff00000) return double.IsNaN(x) ? x : (hx < 0 ? -1.0 : 1.0);
        if (ix < 0x3feb0000)
        {
            // |x| < 0.84375
            if (ix < 0x3e300000) return ix < 0x00800000 ? 0.125 * (8.0 * x + Efx8 * x) : x + Efx * x;
            double z = x * x;
            double r = Pp0 + z * (Pp1 + z * (Pp2 + z * (Pp3 + z * Pp4)));
            double s = 1.0 + z * (Qq1 + z * (Qq2 + z * (Qq3 + z * (Qq4 + z * Qq5))));
            return x + x * (r / s);
        }
        if (ix < 0x3ff40000)
        {
            // 0.84375 <= |x| < 1.25
            double s = Math.Abs(x) - 1.0;
            double p = Pa0 + s * (Pa1 + s * (Pa2 + s * (Pa3 + s * (Pa4 + s * (Pa5 + s * Pa6)))));
            double q = 1.0 + s * (Qa1 + s * (Qa2 + s * (Qa3 + s * (Qa4 + s * (Qa5 + s * Qa6)))));
            return hx >= 0 ? Erx + p / q : -Erx - p / q;
        }
        if (ix >= 0x40180000) return hx >= 0 ? 1.0 : -1.0; // |x| >= 6: erf is 1 to double precision
        double tail = ErfcTail(Math.Abs(x), ix);
        return hx >= 0 ? 1.0 - tail : tail - 1.0;
    }

    /// <summary>The complementary error function 1 - erf(x), accurate (relative) in the right tail.</summary>
    public static double Erfc(double x)
    {
        int hx = HighWord(x);
        int ix = hx & 0x7fffffff;
        if (ix >= 0x7ff00000) return double.IsNaN(x) ? x : (hx < 0 ? 2.0 : 0.0);
        if (ix < 0x3feb0000)
        {
            // |x| < 0.84375
            if (ix < 0x3c700000) return 1.0 - x;
            double z = x * x;
            double r = Pp0 + z * (Pp1 + z * (Pp2 + z * (Pp3 + z * Pp4)));
            double s = 1.0 + z * (Qq1 + z * (Qq2 + z * (Qq3 + z * (Qq4 + z * Qq5))));
            double y = r / s;
            if (hx < 0x3fd00000) return 1.0 - (x + x * y); // x < 1/4
            double t = x * y + (x - 0.5);
            return 0.5 - t;
        }
        if (ix < 0x3ff40000)
        {
            // 0.84375 <= |x| < 1.25
            double s = Math.Abs(x) - 1.0;
            double p = Pa0 + s * (Pa1 + s * (Pa2 + s * (Pa3 + s * (Pa4 + s * (Pa5 + s * Pa6)))));
            double q = 1.0 + s * (Qa1 + s * (Qa2 + s * (Qa3 + s * (Qa4 + s * (Qa5 + s * Qa6)))));
            return hx >= 0 ? (1.0 - Erx) - p / q : 1.0 + (Erx + p / q);
        }
        if (ix < 0x403c0000)
        {
            // |x| < 28
            if (hx < 0 && ix >= 0x40180000) return 2.0; // x <= -6
            double tail = ErfcTail(Math.Abs(x), ix);
            return hx > 0 ? tail : 2.0 - tail;
        }
        return hx > 0 ? 0.0 : 2.0;
    }
}
