SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, s0.value AS v0 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score AS s0 ON s0.neuron_id = neuron.id AND s0.concept_id = %(concept_id_1)s::INTEGER AND s0.run_id = %(run_id_1)s::INTEGER AND s0.method_id = %(method_id_1)s::INTEGER 
WHERE neuron.model_id = %(model_id_1)s::INTEGER AND neuron.layer = %(layer_1)s::INTEGER AND neuron.site = %(site_1)s::VARCHAR AND s0.value BETWEEN %(param_1)s AND %(param_2)s ORDER BY model.name COLLATE "C", neuron.site COLLATE "C", neuron.layer, neuron.unit 
 LIMIT %(param_3)s::INTEGER
-- parameters: {'concept_id_1': 7, 'run_id_1': 4, 'method_id_1': 5, 'model_id_1': 2, 'layer_1': 3, 'site_1': 'mlp', 'param_1': 0.25, 'param_2': 0.75, 'param_3': 100}
