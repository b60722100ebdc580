#!/usr/bin/env bash
# The GPU check of issue 16, as one prepared script: run it from anywhere on a machine with
# one NVIDIA GPU, with nothing reachable outside it, and it finishes inside 8 minutes.
#
#   bash benchmarks/gpu_check.sh              # logs and JSON under /tmp/rdinet-gpu-check
#
# 1. Python: the first of $PYTHON, python3 or the tree's .venv that imports everything the
#    study needs; else a venv (--system-site-packages, so a preinstalled torch is kept) under
#    the log folder, filled from the wheels carried with the tree (wheelhouse/, pip
#    --no-index) when present, else from the package index. The tree's code is always the
#    one run (PYTHONPATH).
# 2. Training samples/s of ResNet-50 and RDINet (k=3) at 2x32x128x128, batch 16, bf16,
#    channels_last_3d, without and with torch.compile (benchmarks/gpu_throughput.py), and
#    each of those bf16 trainings' loss curve (first and last value): every loss must be
#    finite (issue 31); a non-finite one, or the training core's DivergedFitError, makes
#    the check exit 1.
# 3. One `paper`-preset study on one ROI (MR+LR, radiomics and deep) with the deep models'
#    least CV (2 folds), 147 synthetic patients, 100 epochs (benchmarks/bench_paper_cpu.py
#    on cuda): its wall time, per stage.
# 4. The ROI segmenter (issue 29) at the paper size: one fold of 5 on 147 synthetic patients
#    (117 training), grid 32x96x192, UNet channels 16-128, $SEG_EPOCHS epochs (default 50)
#    (benchmarks/bench_segmentation.py): fit time, s/epoch, inference s/case, out-of-fold
#    Dice/HD95 per structure, peak CUDA memory. Run before the study, within 150 s.
# Each step runs under `timeout`, inside an overall budget (GPU_CHECK_BUDGET, 470 s); a step
# that runs out is reported as such, with what it had reached. Without a GPU the same steps
# run their CPU path at tiny sizes (gpu_throughput.py --tiny, a 20-patient study at 1 epoch)
# and the table says "no GPU": those figures check the path, they measure no GPU.
set -u
cd "$(dirname "$0")/.."
TREE=$PWD
LOG=${GPU_CHECK_LOG:-/tmp/rdinet-gpu-check}
BUDGET=${GPU_CHECK_BUDGET:-470}
EPOCHS=${GPU_CHECK_EPOCHS:-100}
mkdir -p "$LOG"
START=$SECONDS

# seconds for a step: what it asks for, or what is left of the budget if less
limit() {
    local left=$((BUDGET - (SECONDS - START)))
    if ((left < $1)); then echo $((left > 1 ? left : 1)); else echo "$1"; fi
}

NEEDS="import torch, skorch, monai, radiomics, SimpleITK, sklearn, imblearn, skops, pyarrow, \
matplotlib, yaml, safetensors, tqdm, psutil"
PY=
for candidate in "${PYTHON:-}" python3 "$TREE/.venv/bin/python"; do
    if [ -n "$candidate" ] && "$candidate" -c "$NEEDS" 2>/dev/null; then PY=$candidate; break; fi
done
if [ -z "$PY" ]; then
    VENV=$LOG/venv
    [ -x "$VENV/bin/python" ] || python3 -m venv --system-site-packages "$VENV"
    if [ -d "$TREE/wheelhouse" ]; then
        echo "installing from $TREE/wheelhouse (no index)"
        SOURCE=(--no-index --find-links "$TREE/wheelhouse")
    else
        echo "no wheelhouse/ in the tree: installing from the package index"
        SOURCE=()
    fi
    timeout "$(limit 150)" "$VENV/bin/python" -m pip install -q "${SOURCE[@]}" psutil "$TREE" \
        >"$LOG/install.log" 2>&1
    PY=$VENV/bin/python
    if ! "$PY" -c "$NEEDS" 2>>"$LOG/install.log"; then
        echo "cannot install what the check needs; see $LOG/install.log"
        tail -5 "$LOG/install.log"
        exit 2
    fi
fi
export PYTHONPATH=$TREE${PYTHONPATH:+:$PYTHONPATH}
SETUP_S=$((SECONDS - START))

if "$PY" -c "import torch, sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
    GPU=$("$PY" -c "import torch; print(torch.cuda.get_device_name(0))")
    HEADER="GPU: $GPU (torch $("$PY" -c 'import torch; print(torch.__version__)'))"
    SIZE=(--precision bf16 --steps 10 --warmup 3)
    EAGER_S=60 COMPILED_S=110
    STUDY=(--device cuda --max-epochs "$EPOCHS" --study-patients 147 --set "n_jobs=$(nproc)")
    STUDY_LABEL="paper study, MR+LR, 147 patients, $EPOCHS epochs, deep CV 2 folds"
    SEGMENTATION=(--device cuda --n-patients 147 --folds 5 --max-folds 1
        --epochs "${SEG_EPOCHS:-50}" --grid 32,96,192 --channels 16,32,64,128)
    SEG_LABEL="segmenter, 147 patients, 1 of 5 folds, grid 32x96x192, ${SEG_EPOCHS:-50} epochs"
else
    GPU=
    HEADER="no GPU: CPU path at tiny sizes (a check of the path, not a GPU measurement)"
    SIZE=(--tiny)
    EAGER_S=60 COMPILED_S=150
    STUDY=(--device cpu --n-patients 20 --study-patients 20 --max-epochs 1 --set cv_folds=2
        --set deep.widen_factor=0.125)
    STUDY_LABEL="paper study, MR+LR, 20 patients, 1 epoch, width 1/8 (CPU)"
    SEGMENTATION=(--device cpu --n-patients 12 --shape 8,48,96 --folds 3 --max-folds 1
        --epochs 1 --grid 8,16,32 --channels 4,8)
    SEG_LABEL="segmenter, 12 patients at 8x48x96, 1 fold, 1 epoch (CPU)"
fi
echo "$HEADER; python $PY; setup ${SETUP_S} s; logs in $LOG"

ROWS=()
LOSSES=()
DIVERGED=0
throughput() {  # model, compile (yes/no)
    local model=$1 compiled=$2 log=$LOG/throughput_$1_$2.log seconds=$EAGER_S flags=()
    [ "$compiled" = yes ] && flags=(--compile) && seconds=$COMPILED_S
    seconds=$(limit "$seconds")
    echo "-- $model, torch.compile $compiled (timeout ${seconds} s)"
    timeout "$seconds" "$PY" benchmarks/gpu_throughput.py --model "$model" --channels-last \
        "${SIZE[@]}" "${flags[@]}" >"$log" 2>&1
    local rc=$? loop core share
    loop=$(awk '/^bare loop/ {print $3}' "$log")
    share=$(awk '/^bare loop/ {print $5}' "$log")
    core=$(awk '/^skorch core/ {print $4}' "$log")
    while IFS= read -r line; do
        LOSSES+=("$(printf '%-8s %-8s %s' "$model" "$compiled" "${line#loss curve }")")
    done < <(grep '^loss curve' "$log")
    if [ "$rc" -eq 3 ] || grep -q 'DivergedFitError' "$log"; then
        DIVERGED=1
        LOSSES+=("$(printf '%-8s %-8s %s' "$model" "$compiled" "NOT FINITE: see $log")")
    fi
    if [ "$rc" -eq 0 ] && [ -n "$loop" ]; then
        ROWS+=("$(printf '%-8s %-8s %12s %12s %8s' "$model" "$compiled" "$loop" "$core" "$share")")
    else
        local why="failed (exit $rc)"
        [ "$rc" -eq 124 ] && why="timed out after ${seconds} s"
        ROWS+=("$(printf '%-8s %-8s %s; see %s' "$model" "$compiled" "$why" "$log")")
        tail -3 "$log"
    fi
}
for compiled in no yes; do
    for model in resnet rdinet; do throughput "$model" "$compiled"; done
done
grep -h -m1 "^forward GFLOP" "$LOG"/throughput_resnet_no.log "$LOG"/throughput_rdinet_no.log \
    2>/dev/null | sed 's/^/  /'

seconds=$(limit 150)
echo "-- $SEG_LABEL (timeout ${seconds} s)"
timeout "$seconds" "$PY" benchmarks/bench_segmentation.py "${SEGMENTATION[@]}" \
    >"$LOG/segmentation.log" 2>&1
rc=$?
case $rc in
    0) SEG_RESULT="finished" ;;
    124) SEG_RESULT="timed out after ${seconds} s" ;;
    *) SEG_RESULT="failed (exit $rc); see $LOG/segmentation.log" ;;
esac

seconds=$(limit 470)
echo "-- $STUDY_LABEL (timeout ${seconds} s)"
study_start=$SECONDS
timeout "$seconds" "$PY" benchmarks/bench_paper_cpu.py "${STUDY[@]}" --cv-folds 2 \
    --rois MR+LR --set "radiomics.roi_strategies=[MR+LR]" --work "$LOG/study" \
    --json "$LOG/study.json" >"$LOG/study.log" 2>&1
rc=$?
study_s=$((SECONDS - study_start))
if grep -q 'DivergedFitError' "$LOG/study.log"; then
    DIVERGED=1
    LOSSES+=("study: a deep model diverged (DivergedFitError in $LOG/study.log)")
fi
if [ "$rc" -eq 0 ]; then
    STUDY_RESULT="finished, wall ${study_s} s"
elif [ "$rc" -eq 124 ]; then
    STUDY_RESULT="timed out after ${study_s} s (the stages it finished are below)"
else
    STUDY_RESULT="failed (exit $rc) after ${study_s} s; see $LOG/study.log"
fi

echo
echo "== rdinet GPU check (issue 16): $HEADER"
echo "training samples/s, 2 x $([ -n "$GPU" ] && echo 32x128x128 || echo 8x24x24 tiny)," \
    "channels_last_3d, $([ -n "$GPU" ] && echo "bf16" || echo "float32 (CPU)")"
printf '%-8s %-8s %12s %12s %8s\n' model compile "bare loop" "skorch core" "% peak"
printf '%s\n' "${ROWS[@]}"
echo "(torch.compile applies to the bare loop; the skorch core runs eager in both rows)"
echo "$([ -n "$GPU" ] && echo bf16 || echo "float32 (CPU)") training losses" \
    "(model, compile, path: first, last, steps, finite?)"
printf '%s\n' "${LOSSES[@]}"
echo "$STUDY_LABEL: $STUDY_RESULT"
grep -E ' s +[0-9.]+ GiB$|fitting and predicting|^ +(the rest|total)|^(peak RSS|volume cache|ResNet forward)' \
    "$LOG/study.log" | sed 's/^/  /'
echo "$SEG_LABEL: $SEG_RESULT"
grep -vE '^cohort:|^grid ' "$LOG/segmentation.log" | grep -v Warning | sed 's/^/  /'
echo "whole check: $((SECONDS - START)) s (budget ${BUDGET} s)"
if [ "$DIVERGED" -ne 0 ]; then
    echo "FAILED: a bf16 training loss was not finite (see the loss lines above)"
    exit 1
fi
