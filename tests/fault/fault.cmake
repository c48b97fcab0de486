# Fault injection under mpirun (issue 17): signals, lost ranks; every wait has a timeout.
add_test(NAME fault_mpi COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/fault/test_fault.sh $<TARGET_FILE:rlae>
                                ${RLAE_TRAIN_FIXTURE} ${RLAE_PARITY_PYTHON})
set_tests_properties(fault_mpi PROPERTIES FIXTURES_REQUIRED train_fixture ENVIRONMENT "${RLAE_MPI_ENV}"
                               TIMEOUT 400 LABELS mpi)
