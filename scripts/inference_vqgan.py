"""Reconstruct aligned faces through a stage-I VQGAN checkpoint, to inspect what its codebook keeps.

    python scripts/inference_vqgan.py --input_path inputs/cropped_faces \
        [--model_path weights/CodeFormer/vqgan_code1024.pth] [-o results/vqgan]
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv=None) -> int:
    from codeformer.batch.checks import writable_folder
    from codeformer.batch.exits import end_run, say
    from codeformer.batch.images import run_images
    from codeformer.batch.jobs import VQGANJob
    from codeformer.batch.report import RunLog
    from codeformer.reconstruction import VQGANReconstructor
    from codeformer.utils.inputs import run_name, scan_inputs
    from codeformer.weight_zoo import resolve

    ap = argparse.ArgumentParser(prog='inference_vqgan.py', description=__doc__.splitlines()[0])
    ap.add_argument('-i', '--input_path', default='inputs/cropped_faces')
    ap.add_argument('-o', '--output_path', default=None, help='default: results/<input name>_vqgan')
    ap.add_argument('--model_path', default=None, help='default: the released vqgan_code1024.pth')
    ap.add_argument('--size', type=int, default=512, help='the VQGAN\'s input size (default: 512)')
    ap.add_argument('--batch_size', type=int, default=4)
    ap.add_argument('--device', default='auto')
    ap.add_argument('--suffix', default=None)
    ap.add_argument('-q', '--quiet', action='store_true')
    args = ap.parse_args(argv)
    scan = scan_inputs(args.input_path, kinds=('image', ))
    out = Path(args.output_path or Path('results') / f'{run_name(args.input_path)}_vqgan')
    writable_folder(out)
    model = VQGANReconstructor(resolve('vqgan', args.model_path, progress=not args.quiet), args.size, args.device)
    job = VQGANJob(model, args.suffix, args.batch_size)
    log = RunLog(out, scan.passed_over, args.quiet, say=say)
    run_images(log, scan.files, job, batch_size=job.batch_size, protected=[inp.path for inp in scan.files])
    return end_run(log.finish(None), args.quiet)


if __name__ == '__main__':
    from codeformer.cli import guarded
    sys.exit(guarded(main))
