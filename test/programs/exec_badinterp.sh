#!/nonexistent-magawa-test/sh
echo never
