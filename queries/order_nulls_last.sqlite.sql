SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, s0.value AS v0 
FROM neuron JOIN model ON model.id = neuron.model_id LEFT OUTER JOIN score AS s0 ON s0.neuron_id = neuron.id AND s0.concept_id = ? AND s0.run_id = ? AND s0.method_id = ? 
WHERE neuron.model_id = ? AND neuron.site = ? ORDER BY s0.value ASC NULLS LAST, model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'concept_id_1': 9, 'run_id_1': 2, 'method_id_1': 2, 'model_id_1': 1, 'site_1': 'mlp', 'param_1': 200, 'param_2': 0}
