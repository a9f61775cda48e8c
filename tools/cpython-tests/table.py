# table.py: tests run, passed, failed, errors and skipped per module of a
# regrtest --junit-xml file; with a second argument, the failures too.
import sys, xml.etree.ElementTree as ET, collections
def load(path):
    r = collections.OrderedDict()
    fails = collections.defaultdict(list)
    root = ET.parse(path).getroot()
    for ts in root.iter('testsuite'):
        for tc in ts.iter('testcase'):
            cls = tc.get('classname') or tc.get('name') or ''
            # classname like test.test_os.FooTests
            parts = cls.split('.')
            mod = parts[1] if len(parts) > 1 and parts[0] == 'test' else parts[0]
            c = r.setdefault(mod, collections.Counter())
            c['run'] += 1
            kind = 'passed'
            for ch in tc:
                if ch.tag in ('failure', 'error', 'skipped'):
                    kind = {'failure': 'failed', 'error': 'errors', 'skipped': 'skipped'}[ch.tag]
                    break
            c[kind] += 1
            if kind in ('failed', 'errors'):
                fails[mod].append((kind, tc.get('name') or ''))
    return r, fails
if __name__ == '__main__':
    r, f = load(sys.argv[1])
    for m, c in r.items():
        print(f"{m:16} run {c['run']:5} passed {c['passed']:5} failed {c['failed']:4} errors {c['errors']:4} skipped {c['skipped']:4}")
    if len(sys.argv) > 2:
        for m, l in f.items():
            for k, n in l: print(k, n)
