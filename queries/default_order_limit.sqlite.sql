SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, atlas_value(s0.vals, neuron.unit % ?) AS v0 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND neuron.site = ? AND atlas_value(s0.vals, neuron.unit % ?) > ? ORDER BY model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'unit_1': 256, 'set_id_1': [19, 217], 'unit_2': 256, 'model_id_1': [1, 3], 'site_1': 'mlp', 'param_1': 0.9700000286102295, 'param_2': 101, 'param_3': 0}
-- score sets read:
-- selectivity(negation) of bert: run 2, method row 3 {}
-- selectivity(negation) of minilm: run 5, method row 3 {}
