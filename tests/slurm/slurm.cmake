# A real one-node Slurm (munged, slurmctld, slurmd on loopback, files under the
# build tree) started and stopped by ctest fixtures; the sweep and cluster tests
# run against it. Needs root and slurm-wlm + munge (launch/setup-deps.sh): if
# Slurm cannot start, slurm_cluster_start fails with the daemon's log line.
set(RLAE_SLURM_DIR ${CMAKE_CURRENT_BINARY_DIR}/slurm-cluster)
set(RLAE_SLURM_SH ${CMAKE_CURRENT_SOURCE_DIR}/slurm/slurm-cluster.sh)
add_test(NAME slurm_cluster_start COMMAND bash ${RLAE_SLURM_SH} start ${RLAE_SLURM_DIR} 8)
set_tests_properties(slurm_cluster_start PROPERTIES FIXTURES_SETUP slurm_cluster TIMEOUT 60 LABELS slurm)
add_test(NAME slurm_cluster_stop COMMAND bash ${RLAE_SLURM_SH} stop ${RLAE_SLURM_DIR})
set_tests_properties(slurm_cluster_stop PROPERTIES FIXTURES_CLEANUP slurm_cluster TIMEOUT 60 LABELS slurm)
# This file is included before tests/CMakeLists.txt names the train fixture's
# directory: the same path, spelled here. Python only reads JSON.
find_package(Python3 COMPONENTS Interpreter QUIET)
add_test(NAME sweep_slurm COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/test_slurm_sweep.sh $<TARGET_FILE:rlae>
                                  ${CMAKE_CURRENT_BINARY_DIR}/train_fixture ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR})
set_tests_properties(sweep_slurm PROPERTIES FIXTURES_REQUIRED "slurm_cluster;train_fixture" RESOURCE_LOCK slurm
                     ENVIRONMENT "OMP_NUM_THREADS=1;SLURM_CONF=${RLAE_SLURM_DIR}/slurm.conf" TIMEOUT 400 LABELS slurm)
