;; Training kernels in WebAssembly SIMD that run on the tfjs wasm backend's own memory (the module
;; imports it), so inputs and outputs are tfjs tensors, addressed by byte offset:
;;  - batch norm (+ residual add, + ReLU) passes over an activation viewed as [M, C], C a multiple
;;    of 4; the per-channel arithmetic between passes is done by the caller (src/accel/fused-bn.ts);
;;  - the Conv2D filter gradient, and the interleaving of a strided input gradient's phases
;;    (src/accel/conv2d-grad.ts);
;;  - the gradient of a max pool whose windows tile the input (src/accel/pool-grad.ts);
;;  - the Adam update (src/accel/fused-adam.ts).
;; Compiled by scripts/build-wasm.ts; the bytes are in simd-wasm.ts. Loaded by src/accel/wasm-simd.ts.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; Σ(x − shift) and Σ(x − shift)² per channel, into $acc64 (f64[2C]: sums, then squares).
  ;; Sums run in f32 over chunks of 128 rows ($acc32, f32[2C] scratch), then add into f64.
  (func (export "moments") (param $x i32) (param $M i32) (param $C i32) (param $shift i32) (param $acc32 i32) (param $acc64 i32)
    (local $rowBytes i32) (local $n i32) (local $o i32) (local $j i32) (local $end i32) (local $k i32) (local $v v128) (local $p i32)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $n (i32.mul (local.get $M) (local.get $rowBytes)))
    ;; zero the f64 accumulators
    (local.set $k (i32.const 0))
    (block $z0 (loop $z
      (br_if $z0 (i32.ge_u (local.get $k) (i32.shl (local.get $C) (i32.const 1))))
      (f64.store (i32.add (local.get $acc64) (i32.shl (local.get $k) (i32.const 3))) (f64.const 0))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $z)))
    (local.set $o (i32.const 0))
    (block $done (loop $chunk
      (br_if $done (i32.ge_u (local.get $o) (local.get $n)))
      ;; zero the f32 partials
      (local.set $k (i32.const 0))
      (block $z1 (loop $zz
        (br_if $z1 (i32.ge_u (local.get $k) (i32.shl (local.get $rowBytes) (i32.const 1))))
        (v128.store (i32.add (local.get $acc32) (local.get $k)) (v128.const i32x4 0 0 0 0))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $zz)))
      (local.set $end (i32.add (local.get $o) (i32.shl (local.get $rowBytes) (i32.const 7))))
      (if (i32.gt_u (local.get $end) (local.get $n)) (then (local.set $end (local.get $n))))
      (local.set $j (i32.const 0))
      (loop $vec
        (local.set $v (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o))) (v128.load (i32.add (local.get $shift) (local.get $j)))))
        (local.set $p (i32.add (local.get $acc32) (local.get $j)))
        (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p)) (local.get $v)))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p)) (f32x4.mul (local.get $v) (local.get $v))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (if (i32.eq (local.get $j) (local.get $rowBytes)) (then (local.set $j (i32.const 0))))
        (br_if $vec (i32.lt_u (local.get $o) (local.get $end))))
      ;; flush into f64
      (local.set $k (i32.const 0))
      (block $f0 (loop $f
        (br_if $f0 (i32.ge_u (local.get $k) (i32.shl (local.get $C) (i32.const 1))))
        (local.set $p (i32.add (local.get $acc64) (i32.shl (local.get $k) (i32.const 3))))
        (f64.store (local.get $p) (f64.add (f64.load (local.get $p))
          (f64.promote_f32 (f32.load (i32.add (local.get $acc32) (i32.shl (local.get $k) (i32.const 2)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $f)))
      (br $chunk))))

  ;; y = x·a + b (+ z when $z ≠ 0), then max(·, 0) when $relu ≠ 0; a, b: f32[C].
  (func (export "affine") (param $x i32) (param $z i32) (param $y i32) (param $M i32) (param $C i32) (param $a i32) (param $b i32) (param $relu i32)
    (local $rowBytes i32) (local $n i32) (local $o i32) (local $j i32) (local $v v128)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $n (i32.mul (local.get $M) (local.get $rowBytes)))
    (if (i32.eqz (local.get $n)) (then (return)))
    (local.set $o (i32.const 0))
    (local.set $j (i32.const 0))
    (loop $vec
      (local.set $v (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $o))) (v128.load (i32.add (local.get $a) (local.get $j))))
        (v128.load (i32.add (local.get $b) (local.get $j)))))
      (if (local.get $z) (then (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $z) (local.get $o)))))))
      (if (local.get $relu) (then (local.set $v (f32x4.max (local.get $v) (v128.const i32x4 0 0 0 0)))))
      (v128.store (i32.add (local.get $y) (local.get $o)) (local.get $v))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (if (i32.eq (local.get $j) (local.get $rowBytes)) (then (local.set $j (i32.const 0))))
      (br_if $vec (i32.lt_u (local.get $o) (local.get $n)))))

  ;; g = dy, masked by y > 0 when $y ≠ 0 (the ReLU); writes g to $dz when $dz ≠ 0; Σg and
  ;; Σg·(x − mean) per channel into $acc64 (f64[2C]), with f32 partials over 128 rows in $acc32.
  (func (export "gradSums") (param $dy i32) (param $x i32) (param $y i32) (param $dz i32) (param $M i32) (param $C i32) (param $mean i32) (param $acc32 i32) (param $acc64 i32)
    (local $rowBytes i32) (local $n i32) (local $o i32) (local $j i32) (local $end i32) (local $k i32) (local $g v128) (local $p i32)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $n (i32.mul (local.get $M) (local.get $rowBytes)))
    (local.set $k (i32.const 0))
    (block $z0 (loop $z
      (br_if $z0 (i32.ge_u (local.get $k) (i32.shl (local.get $C) (i32.const 1))))
      (f64.store (i32.add (local.get $acc64) (i32.shl (local.get $k) (i32.const 3))) (f64.const 0))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $z)))
    (local.set $o (i32.const 0))
    (block $done (loop $chunk
      (br_if $done (i32.ge_u (local.get $o) (local.get $n)))
      (local.set $k (i32.const 0))
      (block $z1 (loop $zz
        (br_if $z1 (i32.ge_u (local.get $k) (i32.shl (local.get $rowBytes) (i32.const 1))))
        (v128.store (i32.add (local.get $acc32) (local.get $k)) (v128.const i32x4 0 0 0 0))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br $zz)))
      (local.set $end (i32.add (local.get $o) (i32.shl (local.get $rowBytes) (i32.const 7))))
      (if (i32.gt_u (local.get $end) (local.get $n)) (then (local.set $end (local.get $n))))
      (local.set $j (i32.const 0))
      (loop $vec
        (local.set $g (v128.load (i32.add (local.get $dy) (local.get $o))))
        (if (local.get $y) (then
          (local.set $g (v128.and (local.get $g) (f32x4.gt (v128.load (i32.add (local.get $y) (local.get $o))) (v128.const i32x4 0 0 0 0))))))
        (if (local.get $dz) (then (v128.store (i32.add (local.get $dz) (local.get $o)) (local.get $g))))
        (local.set $p (i32.add (local.get $acc32) (local.get $j)))
        (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p)) (local.get $g)))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p))
          (f32x4.mul (local.get $g) (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $o))) (v128.load (i32.add (local.get $mean) (local.get $j)))))))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (if (i32.eq (local.get $j) (local.get $rowBytes)) (then (local.set $j (i32.const 0))))
        (br_if $vec (i32.lt_u (local.get $o) (local.get $end))))
      (local.set $k (i32.const 0))
      (block $f0 (loop $f
        (br_if $f0 (i32.ge_u (local.get $k) (i32.shl (local.get $C) (i32.const 1))))
        (local.set $p (i32.add (local.get $acc64) (i32.shl (local.get $k) (i32.const 3))))
        (f64.store (local.get $p) (f64.add (f64.load (local.get $p))
          (f64.promote_f32 (f32.load (i32.add (local.get $acc32) (i32.shl (local.get $k) (i32.const 2)))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $f)))
      (br $chunk))))

  ;; dx = k1·g + k2·x + k3 per channel (k1, k2, k3: f32[C]), g = dy masked by y > 0 when $y ≠ 0.
  (func (export "gradApply") (param $dy i32) (param $x i32) (param $y i32) (param $dx i32) (param $M i32) (param $C i32) (param $k1 i32) (param $k2 i32) (param $k3 i32)
    (local $rowBytes i32) (local $n i32) (local $o i32) (local $j i32) (local $g v128)
    (local.set $rowBytes (i32.shl (local.get $C) (i32.const 2)))
    (local.set $n (i32.mul (local.get $M) (local.get $rowBytes)))
    (if (i32.eqz (local.get $n)) (then (return)))
    (local.set $o (i32.const 0))
    (local.set $j (i32.const 0))
    (loop $vec
      (local.set $g (v128.load (i32.add (local.get $dy) (local.get $o))))
      (if (local.get $y) (then
        (local.set $g (v128.and (local.get $g) (f32x4.gt (v128.load (i32.add (local.get $y) (local.get $o))) (v128.const i32x4 0 0 0 0))))))
      (v128.store (i32.add (local.get $dx) (local.get $o))
        (f32x4.add
          (f32x4.add (f32x4.mul (local.get $g) (v128.load (i32.add (local.get $k1) (local.get $j))))
                     (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $o))) (v128.load (i32.add (local.get $k2) (local.get $j)))))
          (v128.load (i32.add (local.get $k3) (local.get $j)))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (local.set $j (i32.add (local.get $j) (i32.const 16)))
      (if (i32.eq (local.get $j) (local.get $rowBytes)) (then (local.set $j (i32.const 0))))
      (br_if $vec (i32.lt_u (local.get $o) (local.get $n)))))

  ;; dL/dfilter of y = conv2d(x, filter) (NHWC, dilation 1, any stride and padding), Cout a
  ;; multiple of 4: dF[i, j, c, o] = Σ_{b, y, x} x[b, y·sh + i − pt, x·sw + j − pl, c] · dy[b, y, x, o],
  ;; reading x and dy where they are (no pad, transpose or im2col copies). dF (f32[kh·kw·Cin·Cout])
  ;; is zeroed first; images b0 ≤ b < b1 are summed. Per image, tap and chunk of output rows
  ;; (~64 pixels), blocks of 8 input channels × 4 output channels stay in registers; the remaining
  ;; input channels go one at a time.
  (func (export "convFilterGrad") (param $x i32) (param $dy i32) (param $dF i32) (param $b0 i32) (param $b1 i32)
    (param $H i32) (param $W i32) (param $Cin i32) (param $oH i32) (param $oW i32) (param $Cout i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
    (local $b i32) (local $i i32) (local $j i32) (local $ylo i32) (local $yhi i32) (local $ny i32) (local $xlo i32) (local $xhi i32) (local $n i32)
    (local $R i32) (local $ys i32) (local $rr i32) (local $xbase i32) (local $dybase i32) (local $xr i32) (local $dr i32) (local $r i32) (local $xstep i32) (local $xrowstep i32) (local $dyrowstep i32)
    (local $cs i32) (local $cb i32) (local $ob i32) (local $ap i32) (local $xp i32) (local $dyp i32) (local $k i32) (local $d v128) (local $t i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $q0 i32) (local $q1 i32) (local $q2 i32) (local $q3 i32) (local $q4 i32) (local $q5 i32) (local $q6 i32) (local $q7 i32)
    (local.set $cs (i32.shl (local.get $Cout) (i32.const 2)))
    (local.set $xstep (i32.shl (i32.mul (local.get $sw) (local.get $Cin)) (i32.const 2)))
    (local.set $xrowstep (i32.shl (i32.mul (i32.mul (local.get $sh) (local.get $W)) (local.get $Cin)) (i32.const 2)))
    (local.set $dyrowstep (i32.mul (local.get $oW) (local.get $cs)))
    ;; rows per chunk: ~64 output pixels, so that the accumulators' loads and stores are amortised
    ;; and a chunk's rows of x and dy stay in L1
    (local.set $R (i32.div_u (i32.const 64) (local.get $oW)))
    (if (i32.eqz (local.get $R)) (then (local.set $R (i32.const 1))))
    ;; zero dF
    (local.set $k (i32.const 0))
    (local.set $t (i32.shl (i32.mul (i32.mul (local.get $kh) (local.get $kw)) (i32.mul (local.get $Cin) (local.get $Cout))) (i32.const 2)))
    (block $z0 (loop $z
      (br_if $z0 (i32.ge_u (local.get $k) (local.get $t)))
      (v128.store (i32.add (local.get $dF) (local.get $k)) (v128.const i32x4 0 0 0 0))
      (local.set $k (i32.add (local.get $k) (i32.const 16)))
      (br $z)))
    (local.set $b (local.get $b0))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_s (local.get $b) (local.get $b1)))
      (local.set $i (i32.const 0))
      (block $idone (loop $il
        (br_if $idone (i32.ge_s (local.get $i) (local.get $kh)))
        ;; output rows whose input row y·sh + i − pt lies in [0, H)
        (local.set $t (i32.sub (local.get $pt) (local.get $i)))
        (local.set $ylo (i32.const 0))
        (if (i32.gt_s (local.get $t) (i32.const 0)) (then
          (local.set $ylo (i32.div_s (i32.add (local.get $t) (i32.sub (local.get $sh) (i32.const 1))) (local.get $sh)))))
        (local.set $t (i32.add (i32.sub (local.get $H) (i32.const 1)) (i32.sub (local.get $pt) (local.get $i))))
        (local.set $yhi (i32.const -1))
        (if (i32.ge_s (local.get $t) (i32.const 0)) (then (local.set $yhi (i32.div_s (local.get $t) (local.get $sh)))))
        (if (i32.ge_s (local.get $yhi) (local.get $oH)) (then (local.set $yhi (i32.sub (local.get $oH) (i32.const 1)))))
        (local.set $ny (i32.add (i32.sub (local.get $yhi) (local.get $ylo)) (i32.const 1)))
        (local.set $j (i32.const 0))
        (block $jdone (loop $jl
          (br_if $jdone (i32.ge_s (local.get $j) (local.get $kw)))
          ;; output columns whose input column x·sw + j − pl lies in [0, W)
          (local.set $t (i32.sub (local.get $pl) (local.get $j)))
          (local.set $xlo (i32.const 0))
          (if (i32.gt_s (local.get $t) (i32.const 0)) (then
            (local.set $xlo (i32.div_s (i32.add (local.get $t) (i32.sub (local.get $sw) (i32.const 1))) (local.get $sw)))))
          (local.set $t (i32.add (i32.sub (local.get $W) (i32.const 1)) (i32.sub (local.get $pl) (local.get $j))))
          (local.set $xhi (i32.const -1))
          (if (i32.ge_s (local.get $t) (i32.const 0)) (then (local.set $xhi (i32.div_s (local.get $t) (local.get $sw)))))
          (if (i32.ge_s (local.get $xhi) (local.get $oW)) (then (local.set $xhi (i32.sub (local.get $oW) (i32.const 1)))))
          (local.set $n (i32.add (i32.sub (local.get $xhi) (local.get $xlo)) (i32.const 1)))
          (if (i32.and (i32.gt_s (local.get $n) (i32.const 0)) (i32.gt_s (local.get $ny) (i32.const 0))) (then
           (local.set $ys (local.get $ylo))
           (loop $chunk
            (local.set $rr (i32.sub (i32.add (local.get $yhi) (i32.const 1)) (local.get $ys)))
            (if (i32.gt_s (local.get $rr) (local.get $R)) (then (local.set $rr (local.get $R))))
            (local.set $xbase (i32.add (local.get $x) (i32.shl (i32.mul
              (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H))
                                         (i32.sub (i32.add (i32.mul (local.get $ys) (local.get $sh)) (local.get $i)) (local.get $pt)))
                                (local.get $W))
                       (i32.sub (i32.add (i32.mul (local.get $xlo) (local.get $sw)) (local.get $j)) (local.get $pl)))
              (local.get $Cin)) (i32.const 2))))
            (local.set $dybase (i32.add (local.get $dy) (i32.mul
              (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $oH)) (local.get $ys)) (local.get $oW)) (local.get $xlo))
              (local.get $cs))))
            (local.set $cb (i32.const 0))
            ;; blocks of 8 input channels
            (block $c8done (loop $c8
              (br_if $c8done (i32.gt_s (i32.add (local.get $cb) (i32.const 8)) (local.get $Cin)))
              (local.set $ob (i32.const 0))
              (block $odone (loop $ol
                (br_if $odone (i32.ge_s (local.get $ob) (local.get $Cout)))
                  (local.set $ap (i32.add (local.get $dF) (i32.shl (i32.add (i32.mul
                    (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $kw)) (local.get $j)) (local.get $Cin)) (local.get $cb))
                    (local.get $Cout)) (local.get $ob)) (i32.const 2))))
                  (local.set $q0 (i32.add (local.get $ap) (i32.mul (i32.const 0) (local.get $cs))))
                  (local.set $a0 (v128.load (local.get $q0)))
                  (local.set $q1 (i32.add (local.get $ap) (i32.mul (i32.const 1) (local.get $cs))))
                  (local.set $a1 (v128.load (local.get $q1)))
                  (local.set $q2 (i32.add (local.get $ap) (i32.mul (i32.const 2) (local.get $cs))))
                  (local.set $a2 (v128.load (local.get $q2)))
                  (local.set $q3 (i32.add (local.get $ap) (i32.mul (i32.const 3) (local.get $cs))))
                  (local.set $a3 (v128.load (local.get $q3)))
                  (local.set $q4 (i32.add (local.get $ap) (i32.mul (i32.const 4) (local.get $cs))))
                  (local.set $a4 (v128.load (local.get $q4)))
                  (local.set $q5 (i32.add (local.get $ap) (i32.mul (i32.const 5) (local.get $cs))))
                  (local.set $a5 (v128.load (local.get $q5)))
                  (local.set $q6 (i32.add (local.get $ap) (i32.mul (i32.const 6) (local.get $cs))))
                  (local.set $a6 (v128.load (local.get $q6)))
                  (local.set $q7 (i32.add (local.get $ap) (i32.mul (i32.const 7) (local.get $cs))))
                  (local.set $a7 (v128.load (local.get $q7)))
                  (local.set $xr (i32.add (local.get $xbase) (i32.shl (local.get $cb) (i32.const 2))))
                  (local.set $dr (i32.add (local.get $dybase) (i32.shl (local.get $ob) (i32.const 2))))
                  (local.set $r (local.get $rr))
                  (loop $rows8
                    (local.set $xp (local.get $xr))
                    (local.set $dyp (local.get $dr))
                    (local.set $k (local.get $n))
                    (loop $px8
                      (local.set $d (v128.load (local.get $dyp)))
                      (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load32_splat offset=0 (local.get $xp)) (local.get $d))))
                      (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load32_splat offset=4 (local.get $xp)) (local.get $d))))
                      (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load32_splat offset=8 (local.get $xp)) (local.get $d))))
                      (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load32_splat offset=12 (local.get $xp)) (local.get $d))))
                      (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (v128.load32_splat offset=16 (local.get $xp)) (local.get $d))))
                      (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (v128.load32_splat offset=20 (local.get $xp)) (local.get $d))))
                      (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (v128.load32_splat offset=24 (local.get $xp)) (local.get $d))))
                      (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (v128.load32_splat offset=28 (local.get $xp)) (local.get $d))))
                      (local.set $xp (i32.add (local.get $xp) (local.get $xstep)))
                      (local.set $dyp (i32.add (local.get $dyp) (local.get $cs)))
                      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                      (br_if $px8 (local.get $k)))
                    (local.set $xr (i32.add (local.get $xr) (local.get $xrowstep)))
                    (local.set $dr (i32.add (local.get $dr) (local.get $dyrowstep)))
                    (local.set $r (i32.sub (local.get $r) (i32.const 1)))
                    (br_if $rows8 (local.get $r)))
                  (v128.store (local.get $q0) (local.get $a0))
                  (v128.store (local.get $q1) (local.get $a1))
                  (v128.store (local.get $q2) (local.get $a2))
                  (v128.store (local.get $q3) (local.get $a3))
                  (v128.store (local.get $q4) (local.get $a4))
                  (v128.store (local.get $q5) (local.get $a5))
                  (v128.store (local.get $q6) (local.get $a6))
                  (v128.store (local.get $q7) (local.get $a7))
                (local.set $ob (i32.add (local.get $ob) (i32.const 4)))
                (br $ol)))
              (local.set $cb (i32.add (local.get $cb) (i32.const 8)))
              (br $c8)))
            ;; the remaining input channels, one at a time
            (block $c1done (loop $c1
              (br_if $c1done (i32.ge_s (local.get $cb) (local.get $Cin)))
              (local.set $ob (i32.const 0))
              (block $o1done (loop $o1
                (br_if $o1done (i32.ge_s (local.get $ob) (local.get $Cout)))
                  (local.set $ap (i32.add (local.get $dF) (i32.shl (i32.add (i32.mul
                    (i32.add (i32.mul (i32.add (i32.mul (local.get $i) (local.get $kw)) (local.get $j)) (local.get $Cin)) (local.get $cb))
                    (local.get $Cout)) (local.get $ob)) (i32.const 2))))
                  (local.set $a0 (v128.load (local.get $ap)))
                  (local.set $xr (i32.add (local.get $xbase) (i32.shl (local.get $cb) (i32.const 2))))
                  (local.set $dr (i32.add (local.get $dybase) (i32.shl (local.get $ob) (i32.const 2))))
                  (local.set $r (local.get $rr))
                  (loop $rows1
                    (local.set $xp (local.get $xr))
                    (local.set $dyp (local.get $dr))
                    (local.set $k (local.get $n))
                    (loop $px1
                      (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load32_splat (local.get $xp)) (v128.load (local.get $dyp)))))
                      (local.set $xp (i32.add (local.get $xp) (local.get $xstep)))
                      (local.set $dyp (i32.add (local.get $dyp) (local.get $cs)))
                      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
                      (br_if $px1 (local.get $k)))
                    (local.set $xr (i32.add (local.get $xr) (local.get $xrowstep)))
                    (local.set $dr (i32.add (local.get $dr) (local.get $dyrowstep)))
                    (local.set $r (i32.sub (local.get $r) (i32.const 1)))
                    (br_if $rows1 (local.get $r)))
                  (v128.store (local.get $ap) (local.get $a0))
                (local.set $ob (i32.add (local.get $ob) (i32.const 4)))
                (br $o1)))
              (local.set $cb (i32.add (local.get $cb) (i32.const 1)))
              (br $c1)))
            (local.set $ys (i32.add (local.get $ys) (local.get $rr)))
            (br_if $chunk (i32.le_s (local.get $ys) (local.get $yhi))))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $jl)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $il)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bl))))

  ;; Gradient of a max pool whose windows tile the input (window = stride, kh·oH = H, kw·oW = W),
  ;; C a multiple of 4: each window's dy is shared equally by its maxima (x = y), the other inputs
  ;; get 0. x, dx: [B, H, W, C]; y, dy: [B, oH, oW, C].
  (func (export "maxPoolGrad") (param $x i32) (param $y i32) (param $dy i32) (param $dx i32)
    (param $B i32) (param $oH i32) (param $oW i32) (param $C i32) (param $kh i32) (param $kw i32)
    (local $cs i32) (local $rowBytes i32) (local $b i32) (local $oy i32) (local $ox i32) (local $win i32) (local $yo i32)
    (local $cb i32) (local $u i32) (local $v i32) (local $p i32) (local $m v128) (local $g v128) (local $cnt v128)
    (local.set $cs (i32.shl (local.get $C) (i32.const 2)))
    (local.set $rowBytes (i32.mul (i32.mul (local.get $oW) (local.get $kw)) (local.get $cs)))
    (local.set $yo (i32.const 0))
    (local.set $b (i32.const 0))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_s (local.get $b) (local.get $B)))
      (local.set $oy (i32.const 0))
      (block $ydone (loop $yl
        (br_if $ydone (i32.ge_s (local.get $oy) (local.get $oH)))
        ;; byte offset of the window's top-left input of (b, oy, ox = 0)
        (local.set $win (i32.mul (i32.add (i32.mul (local.get $b) (i32.mul (local.get $oH) (local.get $kh))) (i32.mul (local.get $oy) (local.get $kh)))
          (local.get $rowBytes)))
        (local.set $ox (i32.const 0))
        (block $xdone (loop $xl
          (br_if $xdone (i32.ge_s (local.get $ox) (local.get $oW)))
          (local.set $cb (i32.const 0))
          (block $cdone (loop $cl
            (br_if $cdone (i32.ge_u (local.get $cb) (local.get $cs)))
            (local.set $m (v128.load (i32.add (local.get $y) (i32.add (local.get $yo) (local.get $cb)))))
            (local.set $cnt (v128.const f32x4 0 0 0 0))
            (local.set $u (i32.const 0))
            (loop $u1
              (local.set $v (i32.const 0))
              (loop $v1
                (local.set $p (i32.add (i32.add (local.get $win) (local.get $cb))
                  (i32.add (i32.mul (local.get $u) (local.get $rowBytes)) (i32.mul (local.get $v) (local.get $cs)))))
                (local.set $cnt (f32x4.add (local.get $cnt)
                  (v128.and (f32x4.eq (v128.load (i32.add (local.get $x) (local.get $p))) (local.get $m)) (v128.const f32x4 1 1 1 1))))
                (local.set $v (i32.add (local.get $v) (i32.const 1)))
                (br_if $v1 (i32.lt_s (local.get $v) (local.get $kw))))
              (local.set $u (i32.add (local.get $u) (i32.const 1)))
              (br_if $u1 (i32.lt_s (local.get $u) (local.get $kh))))
            ;; a window without a maximum equal to y (NaN) divides by 0, but every lane of it is masked to 0 below
            (local.set $g (f32x4.div (v128.load (i32.add (local.get $dy) (i32.add (local.get $yo) (local.get $cb)))) (local.get $cnt)))
            (local.set $u (i32.const 0))
            (loop $u2
              (local.set $v (i32.const 0))
              (loop $v2
                (local.set $p (i32.add (i32.add (local.get $win) (local.get $cb))
                  (i32.add (i32.mul (local.get $u) (local.get $rowBytes)) (i32.mul (local.get $v) (local.get $cs)))))
                (v128.store (i32.add (local.get $dx) (local.get $p))
                  (v128.and (f32x4.eq (v128.load (i32.add (local.get $x) (local.get $p))) (local.get $m)) (local.get $g)))
                (local.set $v (i32.add (local.get $v) (i32.const 1)))
                (br_if $v2 (i32.lt_s (local.get $v) (local.get $kw))))
              (local.set $u (i32.add (local.get $u) (i32.const 1)))
              (br_if $u2 (i32.lt_s (local.get $u) (local.get $kh))))
            (local.set $cb (i32.add (local.get $cb) (i32.const 16)))
            (br $cl)))
          (local.set $yo (i32.add (local.get $yo) (local.get $cs)))
          (local.set $win (i32.add (local.get $win) (i32.mul (local.get $kw) (local.get $cs))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br $xl)))
        (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
        (br $yl)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bl))))

;; One phase of a strided convolution's input gradient into its place: for images b0 ≤ b < b1,
  ;; dst[b, u·s + py, v·s + px, :] = src[b, u, v, :] (src: [B, Hp, Wp, C], dst: [B, H, W, C]).
  (func (export "interleave") (param $src i32) (param $dst i32) (param $b0 i32) (param $b1 i32) (param $Hp i32) (param $Wp i32) (param $C i32)
    (param $H i32) (param $W i32) (param $s i32) (param $py i32) (param $px i32)
    (local $cb i32) (local $vb i32) (local $b i32) (local $u i32) (local $v i32) (local $d i32) (local $c i32) (local $step i32)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    (local.set $vb (i32.and (local.get $cb) (i32.const -16)))
    (local.set $step (i32.mul (local.get $s) (local.get $cb)))
    (local.set $src (i32.add (local.get $src) (i32.mul (i32.mul (i32.mul (local.get $b0) (local.get $Hp)) (local.get $Wp)) (local.get $cb))))
    (local.set $b (local.get $b0))
    (block $bdone (loop $bl
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $b1)))
      (local.set $u (i32.const 0))
      (block $udone (loop $ul
        (br_if $udone (i32.ge_u (local.get $u) (local.get $Hp)))
        ;; dst pixel (b, u·s + py, px)
        (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $cb)
          (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (i32.add (i32.mul (local.get $u) (local.get $s)) (local.get $py))) (local.get $W))
                   (local.get $px)))))
        (local.set $v (i32.const 0))
        (block $vdone (loop $vl
          (br_if $vdone (i32.ge_u (local.get $v) (local.get $Wp)))
          (local.set $c (i32.const 0))
          (block $cvd (loop $cv
            (br_if $cvd (i32.ge_u (local.get $c) (local.get $vb)))
            (v128.store (i32.add (local.get $d) (local.get $c)) (v128.load (i32.add (local.get $src) (local.get $c))))
            (local.set $c (i32.add (local.get $c) (i32.const 16)))
            (br $cv)))
          (block $csd (loop $cs
            (br_if $csd (i32.ge_u (local.get $c) (local.get $cb)))
            (f32.store (i32.add (local.get $d) (local.get $c)) (f32.load (i32.add (local.get $src) (local.get $c))))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $cs)))
          (local.set $src (i32.add (local.get $src) (local.get $cb)))
          (local.set $d (i32.add (local.get $d) (local.get $step)))
          (local.set $v (i32.add (local.get $v) (i32.const 1)))
          (br $vl)))
        (local.set $u (i32.add (local.get $u) (i32.const 1)))
        (br $ul)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bl))))

  ;; Adam, op for op as tfjs's AdamOptimizer computes it in f32, for elements lo ≤ i < hi:
  ;;   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2);  w' = ((m'/c1) / (sqrt(v'/c2) + ε))·(−lr) + w
  ;; into w2, m2, v2 (new tensors: tfjs may share the old ones' memory). $k: f32[8] = β1, 1−β1,
  ;; β2, 1−β2, c1 = 1 − β1^t, c2 = 1 − β2^t, ε, −lr. Whole vectors, then the tail one lane at a time.
  (func (export "adam") (param $w i32) (param $m i32) (param $v i32) (param $g i32) (param $w2 i32) (param $m2 i32) (param $v2 i32)
    (param $lo i32) (param $hi i32) (param $k i32)
    (local $o i32) (local $vend i32) (local $end i32) (local $gv v128) (local $mv v128) (local $vv v128)
    (local $b1 v128) (local $b1c v128) (local $b2 v128) (local $b2c v128) (local $c1 v128) (local $c2 v128) (local $eps v128) (local $nlr v128)
    (local.set $b1 (v128.load32_splat (local.get $k)))
    (local.set $b1c (v128.load32_splat (i32.add (local.get $k) (i32.const 4))))
    (local.set $b2 (v128.load32_splat (i32.add (local.get $k) (i32.const 8))))
    (local.set $b2c (v128.load32_splat (i32.add (local.get $k) (i32.const 12))))
    (local.set $c1 (v128.load32_splat (i32.add (local.get $k) (i32.const 16))))
    (local.set $c2 (v128.load32_splat (i32.add (local.get $k) (i32.const 20))))
    (local.set $eps (v128.load32_splat (i32.add (local.get $k) (i32.const 24))))
    (local.set $nlr (v128.load32_splat (i32.add (local.get $k) (i32.const 28))))
    (local.set $o (i32.shl (local.get $lo) (i32.const 2)))
    (local.set $end (i32.shl (local.get $hi) (i32.const 2)))
    (local.set $vend (i32.sub (local.get $end) (i32.const 12)))
    (block $vdone (loop $vl
      (br_if $vdone (i32.ge_s (local.get $o) (local.get $vend)))
      (local.set $gv (v128.load (i32.add (local.get $g) (local.get $o))))
      (local.set $mv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (local.get $b1)) (f32x4.mul (local.get $gv) (local.get $b1c))))
      (local.set $vv (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (local.get $b2))
        (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $b2c))))
      (v128.store (i32.add (local.get $m2) (local.get $o)) (local.get $mv))
      (v128.store (i32.add (local.get $v2) (local.get $o)) (local.get $vv))
      (v128.store (i32.add (local.get $w2) (local.get $o)) (f32x4.add
        (f32x4.mul
          (f32x4.div (f32x4.div (local.get $mv) (local.get $c1))
                     (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $c2))) (local.get $eps)))
          (local.get $nlr))
        (v128.load (i32.add (local.get $w) (local.get $o)))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $vl)))
    (block $sdone (loop $sl
      (br_if $sdone (i32.ge_s (local.get $o) (local.get $end)))
      (local.set $gv (v128.load32_zero (i32.add (local.get $g) (local.get $o))))
      (local.set $mv (f32x4.add (f32x4.mul (v128.load32_zero (i32.add (local.get $m) (local.get $o))) (local.get $b1)) (f32x4.mul (local.get $gv) (local.get $b1c))))
      (local.set $vv (f32x4.add (f32x4.mul (v128.load32_zero (i32.add (local.get $v) (local.get $o))) (local.get $b2))
        (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (local.get $b2c))))
      (v128.store32_lane 0 (i32.add (local.get $m2) (local.get $o)) (local.get $mv))
      (v128.store32_lane 0 (i32.add (local.get $v2) (local.get $o)) (local.get $vv))
      (v128.store32_lane 0 (i32.add (local.get $w2) (local.get $o)) (f32x4.add
        (f32x4.mul
          (f32x4.div (f32x4.div (local.get $mv) (local.get $c1))
                     (f32x4.add (f32x4.sqrt (f32x4.div (local.get $vv) (local.get $c2))) (local.get $eps)))
          (local.get $nlr))
        (v128.load32_zero (i32.add (local.get $w) (local.get $o)))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $sl))))

  ;; a[i] += b[i] for n floats (the parts of a split reduction).
  (func (export "addInto") (param $a i32) (param $b i32) (param $n i32)
    (local $o i32) (local $end i32)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $o (i32.const 0))
    (block $vdone (loop $v
      (br_if $vdone (i32.ge_u (local.get $o) (local.get $end)))
      (v128.store (i32.add (local.get $a) (local.get $o))
        (f32x4.add (v128.load (i32.add (local.get $a) (local.get $o))) (v128.load (i32.add (local.get $b) (local.get $o)))))
      (local.set $o (i32.add (local.get $o) (i32.const 16)))
      (br $v)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $sdone (loop $sl
      (br_if $sdone (i32.ge_u (local.get $o) (local.get $end)))
      (f32.store (i32.add (local.get $a) (local.get $o))
        (f32.add (f32.load (i32.add (local.get $a) (local.get $o))) (f32.load (i32.add (local.get $b) (local.get $o)))))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br $sl))))
)
